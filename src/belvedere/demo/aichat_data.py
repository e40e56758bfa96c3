"""Tables (probabilities, prices, content) behind the aichat demo product: see aichat.py."""

from __future__ import annotations

from dataclasses import dataclass

from belvedere.demo.session import Profile

NAME = "aichat"
HOST = "chat.example-ai.app"

# fmt: off
PROFILE = Profile(
    share=0.45,
    weekday=(1.0, 1.03, 1.02, 1.0, 0.95, 0.85, 0.84),  # Monday..Sunday: weekends ~15 % lower
    hourly=(1.2, 0.6, 0.35, 0.25, 0.25, 0.35, 0.8, 1.8, 3.2, 4.6, 5.2, 5.2,  # 0h..11h
            4.0, 4.2, 5.0, 5.2, 5.0, 4.6, 4.0, 3.6, 3.8, 3.9, 3.2, 2.2),  # 12h..23h
    weekend_skip=0.15,
    warm_users=0.025,
    bot_share=0.01,
)
# fmt: on


@dataclass(frozen=True, slots=True)
class LLM:
    name: str
    provider: str
    prompt_usd_per_1k: float  # price of 1,000 prompt (input) tokens
    completion_usd_per_1k: float  # price of 1,000 completion (output) tokens
    latency_median_ms: int  # response time is lognormal around this median
    latency_sigma: float
    weight: float  # popularity within its provider


MODELS: tuple[LLM, ...] = (
    LLM("gpt-4o", "openai", 0.0025, 0.01, 2400, 0.5, 45),
    LLM("gpt-4o-mini", "openai", 0.00015, 0.0006, 1300, 0.45, 40),
    LLM("o3-mini", "openai", 0.0011, 0.0044, 7000, 0.6, 15),
    LLM("claude-sonnet-4", "anthropic", 0.003, 0.015, 3400, 0.5, 65),
    LLM("claude-haiku", "anthropic", 0.0008, 0.004, 1500, 0.45, 35),
    LLM("mistral-large", "mistral", 0.002, 0.006, 2600, 0.55, 55),
    LLM("mistral-small", "mistral", 0.0001, 0.0003, 1100, 0.45, 45),
    LLM("gemini-2.0-flash", "google", 0.0001, 0.0004, 1000, 0.45, 70),
    LLM("gemini-1.5-pro", "google", 0.00125, 0.005, 3000, 0.55, 30),
)
PROVIDERS: dict[str, float] = {"openai": 45, "anthropic": 28, "mistral": 15, "google": 12}
P_PREFERRED_PROVIDER = 0.85  # a conversation/message uses the user's preferred provider
P_LLM_ERROR = 0.02
ERRORS: tuple[tuple[str, float], ...] = (("rate_limit", 45), ("timeout", 30), ("server_error", 25))
TIMEOUT_MS = (30_000, 60_000)
FAST_ERROR_MS = (150, 4_000)  # rate limits and server errors come back quickly
MAX_RESPONSE_MS = 120_000
PROMPT_TOKENS = (45.0, 0.9)  # median and sigma of what the user types
COMPLETION_TOKENS = (320.0, 0.7)
MAX_COMPLETION_TOKENS = 4096
MAX_CONTEXT_TOKENS = 12_000  # the app truncates the history it resends with each prompt
MESSAGES_SIGMA = 0.6  # messages per conversation: lognormal around the segment's median


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    weight: float
    messages_median: float  # per conversation
    conversations: tuple[int, int]  # per visit
    p_return: float  # chance to come back after the first visit
    decay: float  # of p_return, per visit
    floor: float  # p_return never decays below this
    mean_gap_days: float
    p_second_session: float  # another session later the same day
    p_subscribe: float  # per visit, while on the free plan
    p_paying_existing: float  # accounts older than the window that already pay


SEGMENTS: tuple[Segment, ...] = (
    Segment("heavy", 18, 5.0, (1, 3), 0.95, 0.998, 0.85, 1.4, 0.25, 0.035, 0.35),
    Segment("occasional", 82, 2.5, (1, 1), 0.65, 0.95, 0.25, 5.0, 0.0, 0.006, 0.05),
)
ANON_RETURN = (0.25, 0.6, 4.0)  # chance to come back, decay per visit, mean days between visits
# fmt: off
SOURCE_WEIGHTS: dict[str, dict[str, float]] = {
    "new": {"direct": 25, "google": 24, "bing": 4, "duckduckgo": 4, "facebook": 3, "linkedin": 5,
            "twitter": 8, "reddit": 8, "newsletter": 2, "adwords": 10, "blogs": 7},
    "known": {"direct": 82, "google": 6, "duckduckgo": 1, "newsletter": 8, "twitter": 2, "reddit": 1},
}
# fmt: on
# Landing page per channel; "share" stands for a shared conversation (/share/<id>).
LANDING: dict[str, tuple[tuple[str, float], ...]] = {
    "direct": (("/", 80), ("/pricing", 20)),
    "organic": (("/", 65), ("/pricing", 20), ("share", 15)),
    "social": (("share", 70), ("/", 30)),
    "email": (("/", 60), ("/pricing", 40)),
    "paid": (("/", 60), ("/pricing", 40)),
    "referral": (("/", 85), ("/pricing", 15)),
}
BOUNCE: dict[str, float] = {"/": 0.45, "/pricing": 0.40, "share": 0.55}
P_VIEW_PRICING = 0.35
P_SIGNUP: tuple[float, float] = (0.35, 0.45)  # after a non-bounced visit: first visit, later visits
SIGNUP_METHODS: tuple[tuple[str, float], ...] = (("google", 55), ("email", 30), ("github", 10), ("apple", 5))
PLANS: tuple[tuple[str, float, float], ...] = (
    ("plus", 70, 20.0),
    ("pro", 22, 40.0),
    ("team", 8, 60.0),
)  # USD
P_CONTINUE_CONVERSATION = 0.3
RECENT_CONVERSATIONS = 8  # a user picks up one of their last conversations
P_FEEDBACK = 0.06  # per answer
FEEDBACK_DELAY_MS = (2_000, 20_000)
RATINGS: tuple[tuple[int, float], ...] = ((1, 5), (2, 7), (3, 13), (4, 35), (5, 40))
P_SHARE = 0.03  # per conversation
P_EXPORT = 0.02  # per conversation
EXPORT_FORMATS: tuple[tuple[str, float], ...] = (("markdown", 50), ("pdf", 35), ("json", 15))
P_SETTINGS = 0.06  # per visit
SECOND_SESSION_GAP_MS = (3_600_000, 5 * 3_600_000)
SHARE_POOL = 300  # recent shared conversations that social visitors land on
TITLES: dict[str, str] = {
    "/": "ExampleAI — one chat, every model",
    "/pricing": "Pricing — ExampleAI",
    "/chat": "New chat — ExampleAI",
    "/settings": "Settings — ExampleAI",
}
CHAT_TITLE = "Chat — ExampleAI"
SHARE_TITLE = "Shared conversation — ExampleAI"
