"""aichat: a multi-provider AI chat web app. Tables: aichat_data.py.

Anonymous visitors land on the home page, the pricing page or a shared conversation and may sign up; account
holders are "heavy" (almost daily, several conversations) or "occasional" users with a preferred provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from belvedere.demo import aichat_data as t
from belvedere.demo.aichat_data import LLM, Segment
from belvedere.demo.catalog import EMAIL_DOMAINS, SOURCES
from belvedere.demo.session import (
    ProductModel,
    Visitor,
    Weighted,
    Writer,
    iso_date,
    lognormal,
    return_gap_days,
)

EVENTS: tuple[str, ...] = (
    "signed_up",
    "conversation_created",
    "message_sent",
    "message_received",
    "llm_error",
    "conversation_shared",
    "export_generated",
    "feedback_given",
    "subscription_started",
)


@dataclass(slots=True, eq=False)
class ChatUser(Visitor):
    segment: Segment = t.SEGMENTS[-1]
    provider: str = "openai"
    plan: str = "free"
    conversations: list[tuple[str, int]] = field(default_factory=list)  # (id, context tokens), latest last


def message_cost(model: LLM, prompt_tokens: int, completion_tokens: int) -> float:
    """USD cost of one call from the per-1k-token prices of aichat_data.MODELS, rounded to 8 decimals."""
    usd = prompt_tokens * model.prompt_usd_per_1k + completion_tokens * model.completion_usd_per_1k
    return round(usd / 1000, 8)


_SOURCES = {k: Weighted((SOURCES[t.NAME][s], w) for s, w in ws.items()) for k, ws in t.SOURCE_WEIGHTS.items()}
_LANDING = {k: Weighted(v) for k, v in t.LANDING.items()}
_PROVIDERS = Weighted(t.PROVIDERS.items())
_MODELS = {p: Weighted((m, m.weight) for m in t.MODELS if m.provider == p) for p in t.PROVIDERS}
_SEGMENTS = Weighted((s, s.weight) for s in t.SEGMENTS)
_ERRORS, _RATINGS, _FORMATS = Weighted(t.ERRORS), Weighted(t.RATINGS), Weighted(t.EXPORT_FORMATS)
_METHODS, _DOMAINS = Weighted(t.SIGNUP_METHODS), Weighted(EMAIL_DOMAINS)
_PLANS = Weighted(((name, price), w) for name, w, price in t.PLANS)


class AIChat(ProductModel[ChatUser]):
    name = t.NAME
    profile = t.PROFILE

    def __init__(self, rng: Random) -> None:
        super().__init__(rng)
        self._users = 0
        self._shares: list[str] = []

    def new_visitor(self, existing: bool, now_ms: int) -> ChatUser:
        rng = self.rng
        v = ChatUser.spawn(rng, t.NAME)
        v.provider = _PROVIDERS.pick(rng)
        v.segment = _SEGMENTS.pick(rng)
        if existing:
            self._users += 1
            v.user_id = f"user-{self._users}@{t.NAME}"
            if rng.random() < v.segment.p_paying_existing:
                v.plan = _PLANS.pick(rng)[0]
        return v

    def next_gap(self, v: ChatUser) -> int | None:
        rng = self.rng
        if v.user_id is None:
            (base, decay, mean), floor = t.ANON_RETURN, 0.0
        else:
            s = v.segment
            base, decay, floor, mean = s.p_return, s.decay, s.floor, s.mean_gap_days
        return return_gap_days(rng, base=base, decay=decay, floor=floor, mean=mean, visits=v.visits)

    def crawl_target(self) -> tuple[str, str, str]:
        return self._public(_LANDING["organic"].pick(self.rng))

    def visit(self, w: Writer, v: ChatUser, start_ms: int) -> None:
        rng = self.rng
        if v.user_id is None:
            source = self.forced_source or _SOURCES["new"].pick(rng)
            w.begin(v, start_ms, source)
            self._anonymous(w, v, source.channel)
        else:
            w.begin(v, start_ms, _SOURCES["known"].pick(rng))
            self._session(w, v)
            if rng.random() < v.segment.p_second_session:
                w.finish()
                w.begin(v, w.now + rng.randint(*t.SECOND_SESSION_GAP_MS), SOURCES[t.NAME]["direct"])
                self._session(w, v)
        w.finish()

    def _public(self, page: str) -> tuple[str, str, str]:
        if page != "share":
            return t.HOST, page, t.TITLES[page]
        rng, shares = self.rng, self._shares
        sid = shares[int(rng.random() * len(shares))] if shares else f"{rng.getrandbits(40):010x}"
        return t.HOST, f"/share/{sid}", t.SHARE_TITLE

    def _anonymous(self, w: Writer, v: ChatUser, channel: str) -> None:
        rng = self.rng
        page = _LANDING[channel].pick(rng)
        w.page(*self._public(page))
        if rng.random() < t.BOUNCE[page]:
            return
        if page != "/pricing" and rng.random() < t.P_VIEW_PRICING:
            w.page(t.HOST, "/pricing", t.TITLES["/pricing"])
        if rng.random() >= t.P_SIGNUP[1 if v.visits else 0]:
            return
        self._users += 1
        traits: dict[str, object] = {"plan": "free", "company_size": "1", "signup_date": iso_date(w.now)}
        traits["email_domain"] = _DOMAINS.pick(rng)
        w.sign_up(f"user-{self._users}@{t.NAME}", traits)
        w.track("signed_up", {"plan": "free", "method": _METHODS.pick(rng)}, delay_ms=rng.randint(50, 600))
        self._session(w, v)

    def _session(self, w: Writer, v: ChatUser) -> None:
        rng = self.rng
        seg = v.segment
        w.page(t.HOST, "/chat", t.TITLES["/chat"])
        for _ in range(rng.randint(*seg.conversations)):
            if v.conversations and rng.random() < t.P_CONTINUE_CONVERSATION:
                conv, context = v.conversations.pop(int(rng.random() * len(v.conversations)))
                w.page(t.HOST, f"/chat/{conv}", t.CHAT_TITLE)
            else:
                conv, context = f"{rng.getrandbits(48):012x}", 0
                model = self._model(v)
                props: dict[str, object] = {"conversation_id": conv, "provider": model.provider}
                props["model"] = model.name
                w.track("conversation_created", props)
                w.page(t.HOST, f"/chat/{conv}", t.CHAT_TITLE)
            for _ in range(max(1, round(lognormal(rng, seg.messages_median, t.MESSAGES_SIGMA)))):
                context = self._message(w, v, conv, context)
            v.conversations.append((conv, context))
            del v.conversations[: -t.RECENT_CONVERSATIONS]
            if rng.random() < t.P_SHARE:
                sid = f"{rng.getrandbits(40):010x}"
                w.track("conversation_shared", {"conversation_id": conv, "share_id": sid})
                self._shares.append(sid)
                del self._shares[: -t.SHARE_POOL]
            if rng.random() < t.P_EXPORT:
                w.track("export_generated", {"conversation_id": conv, "format": _FORMATS.pick(rng)})
        if rng.random() < t.P_SETTINGS:
            w.page(t.HOST, "/settings", t.TITLES["/settings"])
        if v.plan == "free" and rng.random() < seg.p_subscribe:
            plan, price = _PLANS.pick(rng)
            w.page(t.HOST, "/pricing", t.TITLES["/pricing"])
            w.track("subscription_started", {"plan": plan, "revenue": price, "currency": "USD"})
            v.plan = plan

    def _model(self, v: ChatUser) -> LLM:
        rng = self.rng
        provider = v.provider if rng.random() < t.P_PREFERRED_PROVIDER else _PROVIDERS.pick(rng)
        return _MODELS[provider].pick(rng)

    def _message(self, w: Writer, v: ChatUser, conv: str, context: int) -> int:
        """message_sent, then message_received (or llm_error) when the model answers; returns the context."""
        rng = self.rng
        model = self._model(v)
        prompt = min(t.MAX_CONTEXT_TOKENS, context + max(2, int(lognormal(rng, *t.PROMPT_TOKENS))))
        error = _ERRORS.pick(rng) if rng.random() < t.P_LLM_ERROR else ""
        if error:
            completion = 0
            elapsed = rng.randint(*(t.TIMEOUT_MS if error == "timeout" else t.FAST_ERROR_MS))
        else:
            completion = min(t.MAX_COMPLETION_TOKENS, max(1, int(lognormal(rng, *t.COMPLETION_TOKENS))))
            latency = lognormal(rng, model.latency_median_ms, model.latency_sigma)
            elapsed = min(t.MAX_RESPONSE_MS, int(latency))
        common: dict[str, object] = {"conversation_id": conv, "provider": model.provider, "model": model.name}
        sent = {**common, "prompt_tokens": prompt, "completion_tokens": completion}
        sent.update(cost=message_cost(model, prompt, completion), currency="USD", response_time_ms=elapsed)
        sent["status"] = "error" if error else "ok"
        w.track("message_sent", sent)
        if error:
            w.track(
                "llm_error", {**common, "error_type": error, "response_time_ms": elapsed}, delay_ms=elapsed
            )
            return context
        received = {**common, "completion_tokens": completion, "response_time_ms": elapsed}
        w.track("message_received", received, delay_ms=elapsed)
        if rng.random() < t.P_FEEDBACK:
            delay = rng.randint(*t.FEEDBACK_DELAY_MS)
            w.track("feedback_given", {**common, "rating": _RATINGS.pick(rng)}, delay_ms=delay)
        return min(t.MAX_CONTEXT_TOKENS, prompt + completion)
