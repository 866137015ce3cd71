"""Messages: the transactional outbox and everything that leaves the platform from it.

A change that members or a store's other systems should hear about (points
earned, a tier reached, a reward redeemed…) records an event in the
outbox, in the change's own transaction (:mod:`.outbox`). A sender (the
``loyalty worker``, or the scheduler's ``messages`` job when no worker
runs) fans each event out to the destinations that want it
(:mod:`.dispatch`) and delivers them through their notification channel
(:mod:`.sending`): outbound webhooks, e-mail to members, or a plugin's
channel (:mod:`.channels`, the contract). The event types are the
contract in :mod:`.catalog`. Destinations are added, rotated, replayed
and tested through :mod:`.destinations` (the CLI's and the admin's
service); :mod:`.addresses` is the SSRF guard for channels that call URLs.
"""
