"""The built-in plugins, installed as ``loyalty.plugins``.

Each module is a plugin like any third-party one: ``@hookimpl`` functions,
registered by the plugin manager (see ``loyalty.registry.BUILTIN_PLUGINS``).
"""
