"""SQLAlchemy 2.0 typed models. Import from here: ``from loyalty.models import Member``."""

from loyalty.models.admin import ADMIN_ROLES, AdminUser, AuditEntry, RateLimitCounter
from loyalty.models.api import API_SCOPES, ApiIdempotentRequest, ApiKey
from loyalty.models.earning import CustomEventRecord, EarningRule, Order, OrderRefund
from loyalty.models.jobs import JobLock, JobRun
from loyalty.models.ledger import (
    MEMBER_ACCOUNT_KINDS,
    SYSTEM_ACCOUNT_KINDS,
    Account,
    Entry,
    Lot,
    LotConsumption,
    Transfer,
)
from loyalty.models.member import Member
from loyalty.models.messages import (
    DELIVERY_STATUSES,
    DESTINATION_STATUSES,
    Delivery,
    Destination,
    MessageTemplate,
    OutboxEvent,
)
from loyalty.models.program import Program
from loyalty.models.referral import REFERRAL_STATUSES, Referral
from loyalty.models.reward import REDEMPTION_STATUSES, Redemption, Reward, RewardCode
from loyalty.models.rollup import DailyFigure, MemberActivity
from loyalty.models.tier import Tier, TierChange
from loyalty.models.webhooks import Storefront, WebhookDelivery
from loyalty.models.widget import WIDGET_JOINS, WidgetSettings

__all__ = [
    "Program",
    "Tier",
    "TierChange",
    "EarningRule",
    "CustomEventRecord",
    "Order",
    "OrderRefund",
    "Storefront",
    "WebhookDelivery",
    "ApiKey",
    "JobRun",
    "JobLock",
    "Referral",
    "Reward",
    "AdminUser",
    "AuditEntry",
    "RateLimitCounter",
    "ADMIN_ROLES",
    "Redemption",
    "DailyFigure",
    "MemberActivity",
    "RewardCode",
    "REDEMPTION_STATUSES",
    "REFERRAL_STATUSES",
    "ApiIdempotentRequest",
    "API_SCOPES",
    "Member",
    "Account",
    "Entry",
    "Transfer",
    "Lot",
    "LotConsumption",
    "MEMBER_ACCOUNT_KINDS",
    "SYSTEM_ACCOUNT_KINDS",
    "WidgetSettings",
    "WIDGET_JOINS",
    "OutboxEvent",
    "Destination",
    "Delivery",
    "MessageTemplate",
    "DELIVERY_STATUSES",
    "DESTINATION_STATUSES",
]
