"""aichat: a multi-provider AI chat web app."""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from belvedere.demo.catalog import EMAIL_DOMAINS, SOURCES
from belvedere.demo.session import ProductModel, Profile, Visitor, Weighted, Writer, iso_date

NAME = "aichat"
HOST = "chat.example-ai.app"

PROFILE = Profile(
    share=0.45,
    weekday=(1.0, 1.03, 1.02, 1.0, 0.95, 0.85, 0.84),
    hourly=(1.2, 0.6, 0.35, 0.25, 0.25, 0.35, 0.8, 1.8, 3.2, 4.6, 5.2, 5.2,
            4.0, 4.2, 5.0, 5.2, 5.0, 4.6, 4.0, 3.6, 3.8, 3.9, 3.2, 2.2),
    weekend_skip=0.15,
    warm_users=0.012,
    bot_share=0.01,
)


@dataclass(frozen=True, slots=True)
class LLM:
    name: str
    provider: str
    prompt_usd_per_1k: float
    completion_usd_per_1k: float
    latency_median_ms: int
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
P_PREFERRED_PROVIDER = 0.85  # a message goes to the user's preferred provider
P_LLM_ERROR = 0.02
ERRORS: tuple[tuple[str, float], ...] = (("rate_limit", 45), ("timeout", 30), ("server_error", 25))
TIMEOUT_MS = (30_000, 60_000)
MAX_RESPONSE_MS = 120_000
PROMPT_TOKENS = (45.0, 0.9)  # median and sigma of what the user types
COMPLETION_TOKENS = (320.0, 0.7)
MAX_COMPLETION_TOKENS = 4096
MAX_CONTEXT_TOKENS = 12_000  # the app truncates the history it resends


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    weight: float
    messages_median: float  # per conversation
    conversations: tuple[int, int]  # per visit
    p_return: float
    decay: float  # per visit
    floor: float
    mean_gap_days: float
    p_second_session: float  # another session later the same day
    p_subscribe: float  # per visit, while on the free plan


SEGMENTS: tuple[Segment, ...] = (
    Segment("heavy", 18, 5.0, (1, 3), 0.95, 0.998, 0.85, 1.4, 0.25, 0.035),
    Segment("occasional", 82, 2.5, (1, 1), 0.65, 0.95, 0.25, 5.0, 0.0, 0.006),
)
ANON_RETURN = (0.25, 0.6, 4.0)  # chance to come back, decay per visit, mean days between visits
SOURCE_WEIGHTS: dict[str, dict[str, float]] = {
    "new": {"direct": 25, "google": 24, "bing": 4, "duckduckgo": 4, "facebook": 3, "linkedin": 5, "twitter": 8,
            "reddit": 8, "newsletter": 2, "adwords": 10, "blogs": 7},
    "known": {"direct": 82, "google": 6, "duckduckgo": 1, "newsletter": 8, "twitter": 2, "reddit": 1},
}
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
PLANS: tuple[tuple[str, float, float], ...] = (("plus", 70, 20.0), ("pro", 22, 40.0), ("team", 8, 60.0))
P_CONTINUE_CONVERSATION = 0.3
P_FEEDBACK = 0.06  # per answer
RATINGS: tuple[tuple[int, float], ...] = ((1, 5), (2, 7), (3, 13), (4, 35), (5, 40))
P_SHARE = 0.03  # per conversation
P_EXPORT = 0.02  # per conversation
EXPORT_FORMATS: tuple[tuple[str, float], ...] = (("markdown", 50), ("pdf", 35), ("json", 15))
P_SETTINGS = 0.06  # per visit
SECOND_SESSION_GAP_MS = (3_600_000, 5 * 3_600_000)
SHARE_POOL = 300  # recent shared conversations that social visitors land on
TITLES: dict[str, str] = {"/": "ExampleAI — one chat, every model", "/pricing": "Pricing — ExampleAI",
                          "/chat": "New chat — ExampleAI", "/settings": "Settings — ExampleAI"}


@dataclass(slots=True, eq=False)
class ChatUser(Visitor):
    segment: Segment = SEGMENTS[1]
    provider: str = "openai"
    plan: str = "free"
    conversations: list[tuple[str, int]] = field(default_factory=list)  # (id, context tokens), most recent last


def message_cost(model: LLM, prompt_tokens: int, completion_tokens: int) -> float:
    """USD cost of one call, from the per-1k-token prices of MODELS."""
    return round(prompt_tokens * model.prompt_usd_per_1k / 1000 + completion_tokens * model.completion_usd_per_1k / 1000,
                 8)


_SOURCES = {k: Weighted((SOURCES[NAME][s], w) for s, w in ws.items()) for k, ws in SOURCE_WEIGHTS.items()}
_LANDING = {k: Weighted(v) for k, v in LANDING.items()}
_PROVIDERS = Weighted(PROVIDERS.items())
_MODELS = {p: Weighted((m, m.weight) for m in MODELS if m.provider == p) for p in PROVIDERS}
_SEGMENTS = Weighted((s, s.weight) for s in SEGMENTS)
_ERRORS, _RATINGS, _FORMATS = Weighted(ERRORS), Weighted(RATINGS), Weighted(EXPORT_FORMATS)
_METHODS, _DOMAINS = Weighted(SIGNUP_METHODS), Weighted(EMAIL_DOMAINS)
_PLANS = Weighted(((name, price), w) for name, w, price in PLANS)


class AIChat(ProductModel[ChatUser]):
    name = NAME
    hosts = (HOST,)
    profile = PROFILE

    def __init__(self, rng: Random) -> None:
        super().__init__(rng)
        self._users = 0
        self._shares: list[str] = []

    def new_visitor(self, existing: bool, now_ms: int) -> ChatUser:
        rng = self.rng
        v = ChatUser.spawn(rng, NAME)
        v.provider = _PROVIDERS.pick(rng)
        v.segment = _SEGMENTS.pick(rng)
        if existing:
            self._users += 1
            v.user_id = f"user-{self._users}@{NAME}"
            if rng.random() < (0.35 if v.segment.name == "heavy" else 0.05):
                v.plan = _PLANS.pick(rng)[0]
        return v

    def next_gap(self, v: ChatUser) -> int | None:
        rng = self.rng
        if v.user_id is None:
            base, decay, mean = ANON_RETURN
            floor = 0.0
        else:
            s = v.segment
            base, decay, floor, mean = s.p_return, s.decay, s.floor, s.mean_gap_days
        if rng.random() >= max(floor, base * decay ** max(0, v.visits - 1)):
            return None
        return 1 + int(rng.expovariate(1.0 / (mean - 1.0)))

    def crawl_target(self) -> tuple[str, str, str]:
        return self._public(_LANDING["organic"].pick(self.rng))

    def _public(self, page: str) -> tuple[str, str, str]:
        if page == "share":
            rng = self.rng
            sid = self._shares[rng.randrange(len(self._shares))] if self._shares else f"{rng.getrandbits(40):010x}"
            return HOST, f"/share/{sid}", "Shared conversation — ExampleAI"
        return HOST, page, TITLES[page]

    def visit(self, w: Writer, v: ChatUser, start_ms: int) -> None:
        rng = self.rng
        if v.user_id is None:
            source = _SOURCES["new"].pick(rng)
            w.begin(v, start_ms, source)
            self._anonymous(w, v, source.channel)
            w.finish()
            return
        w.begin(v, start_ms, _SOURCES["known"].pick(rng))
        self._session(w, v)
        if rng.random() < v.segment.p_second_session:
            w.finish()
            w.begin(v, w.now + rng.randint(*SECOND_SESSION_GAP_MS), SOURCES[NAME]["direct"])
            self._session(w, v)
        w.finish()

    def _anonymous(self, w: Writer, v: ChatUser, channel: str) -> None:
        rng = self.rng
        page = _LANDING[channel].pick(rng)
        w.page(*self._public(page))
        if rng.random() < BOUNCE[page]:
            return
        if page != "/pricing" and rng.random() < P_VIEW_PRICING:
            w.page(HOST, "/pricing", TITLES["/pricing"])
        if rng.random() >= P_SIGNUP[1 if v.visits else 0]:
            return
        self._users += 1
        w.now += w.think()
        w.sign_up(f"user-{self._users}@{NAME}", {"plan": "free", "company_size": "1",
                                                 "signup_date": iso_date(w.now), "email_domain": _DOMAINS.pick(rng)})
        w.track("signed_up", {"plan": "free", "method": _METHODS.pick(rng)}, delay_ms=rng.randint(50, 600))
        self._session(w, v)

    def _session(self, w: Writer, v: ChatUser) -> None:
        rng = self.rng
        seg = v.segment
        w.page(HOST, "/chat", TITLES["/chat"])
        for _ in range(rng.randint(*seg.conversations)):
            if v.conversations and rng.random() < P_CONTINUE_CONVERSATION:
                conv, context = v.conversations.pop(rng.randrange(len(v.conversations)))
                w.page(HOST, f"/chat/{conv}", "Chat — ExampleAI")
            else:
                conv, context = f"{rng.getrandbits(48):012x}", 0
                model = self._model(v)
                w.track("conversation_created", {"conversation_id": conv, "provider": model.provider,
                                                 "model": model.name})
                w.page(HOST, f"/chat/{conv}", "Chat — ExampleAI")
            for _ in range(max(1, round(rng.lognormvariate(0.0, 0.6) * seg.messages_median))):
                context = self._message(w, v, conv, context)
            v.conversations.append((conv, context))
            del v.conversations[:-8]
            if rng.random() < P_SHARE:
                sid = f"{rng.getrandbits(40):010x}"
                w.track("conversation_shared", {"conversation_id": conv, "share_id": sid})
                self._shares.append(sid)
                del self._shares[:-SHARE_POOL]
            if rng.random() < P_EXPORT:
                w.track("export_generated", {"conversation_id": conv, "format": _FORMATS.pick(rng)})
        if rng.random() < P_SETTINGS:
            w.page(HOST, "/settings", TITLES["/settings"])
        if v.plan == "free" and rng.random() < seg.p_subscribe:
            plan, price = _PLANS.pick(rng)
            w.page(HOST, "/pricing", TITLES["/pricing"])
            w.track("subscription_started", {"plan": plan, "revenue": price, "currency": "USD"})
            v.plan = plan

    def _model(self, v: ChatUser) -> LLM:
        rng = self.rng
        provider = v.provider if rng.random() < P_PREFERRED_PROVIDER else _PROVIDERS.pick(rng)
        return _MODELS[provider].pick(rng)

    def _message(self, w: Writer, v: ChatUser, conv: str, context: int) -> int:
        """message_sent, then message_received (or llm_error) once the model answered; returns the new context."""
        rng = self.rng
        model = self._model(v)
        typed = max(2, int(rng.lognormvariate(0.0, PROMPT_TOKENS[1]) * PROMPT_TOKENS[0]))
        prompt = min(MAX_CONTEXT_TOKENS, context + typed)
        failed = rng.random() < P_LLM_ERROR
        if failed:
            error = _ERRORS.pick(rng)
            completion = 0
            elapsed = rng.randint(*TIMEOUT_MS) if error == "timeout" else rng.randint(150, 4_000)
        else:
            completion = min(MAX_COMPLETION_TOKENS, max(1, int(rng.lognormvariate(0.0, COMPLETION_TOKENS[1])
                                                                 * COMPLETION_TOKENS[0])))
            elapsed = min(MAX_RESPONSE_MS, int(rng.lognormvariate(0.0, model.latency_sigma) * model.latency_median_ms))
        cost = message_cost(model, prompt, completion)
        common: dict[str, object] = {"conversation_id": conv, "provider": model.provider, "model": model.name}
        w.track("message_sent", {**common, "prompt_tokens": prompt, "completion_tokens": completion, "cost": cost,
                                 "currency": "USD", "response_time_ms": elapsed, "status": "error" if failed else "ok"})
        if failed:
            w.track("llm_error", {**common, "error_type": error, "response_time_ms": elapsed}, delay_ms=elapsed)
            return context
        w.track("message_received", {**common, "completion_tokens": completion, "response_time_ms": elapsed},
                delay_ms=elapsed)
        if rng.random() < P_FEEDBACK:
            w.track("feedback_given", {**common, "rating": _RATINGS.pick(rng)}, delay_ms=rng.randint(2_000, 20_000))
        return min(MAX_CONTEXT_TOKENS, prompt + completion)
