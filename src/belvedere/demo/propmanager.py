"""propmanager: a French property-management SaaS (marketing site + web app). Tables: propmanager_data.py.

Funnel: visit → /tarifs → signup_started → signed_up → bien_created → locataire_added → (contract_signed) →
payment_received. Accounts created before the window ("existing") already own let properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from belvedere.demo import propmanager_data as t
from belvedere.demo.catalog import EMAIL_DOMAINS, SOURCES
from belvedere.demo.session import ProductModel, Visitor, Weighted, Writer, iso_date, return_gap_days

DAY_MS = 86_400_000
EVENTS: tuple[str, ...] = (
    "signup_started",
    "signed_up",
    "bien_created",
    "locataire_added",
    "contract_signed",
    "payment_received",
    "payment_overdue",
    "document_uploaded",
    "subscription_upgraded",
)


@dataclass(slots=True, eq=False)
class Bien:
    id: int
    kind: str
    surface: int
    city: str
    tenant: bool = False
    rent: int = 0  # monthly rent (EUR) once a lease is signed
    due_ms: int = 0  # next rent due
    late: bool = False  # the due rent was reported overdue


@dataclass(slots=True, eq=False)
class Landlord(Visitor):
    signup_started: bool = False
    adopted: bool = True
    plan: str = "free"
    biens: list[Bien] = field(default_factory=list)


_SOURCES = {k: Weighted((SOURCES[t.NAME][s], w) for s, w in ws.items()) for k, ws in t.SOURCE_WEIGHTS.items()}
_LANDING = {k: Weighted(v) for k, v in t.LANDING.items()}
_NEXT = {k: Weighted(v) for k, v in t.NEXT_PAGE.items()}
_SIGNUP_PLANS, _EXISTING_PLANS = Weighted(t.SIGNUP_PLANS), Weighted(t.EXISTING_PLANS)
_SIZES, _DOMAINS, _DOCS = Weighted(t.COMPANY_SIZES), Weighted(EMAIL_DOMAINS), Weighted(t.DOC_TYPES)
_TYPES = Weighted((k, v[0]) for k, v in t.BIEN_TYPES.items())
_CITIES = Weighted((k, v[0]) for k, v in t.CITIES.items())


class PropManager(ProductModel[Landlord]):
    name = t.NAME
    profile = t.PROFILE

    def __init__(self, rng: Random) -> None:
        super().__init__(rng)
        self._users = 0
        self._biens = 0
        self._action_pickers: dict[tuple[bool, ...], Weighted[str]] = {}

    def new_visitor(self, existing: bool, now_ms: int) -> Landlord:
        rng = self.rng
        v = Landlord.spawn(rng, t.NAME)
        if existing:
            self._users += 1
            v.user_id = f"user-{self._users}@{t.NAME}"
            v.plan = _EXISTING_PLANS.pick(rng)
            mean = t.EXISTING_BIENS_MEAN["free" if v.plan == "free" else "paid"]
            for _ in range(min(t.MAX_BIENS, 1 + int(rng.expovariate(1.0 / mean)))):
                bien = self._new_bien()
                if rng.random() < t.P_EXISTING_LEASED:
                    bien.tenant = True
                    bien.rent = self._rent(bien)
                    bien.due_ms = now_ms + rng.randint(0, t.RENT_PERIOD_DAYS) * DAY_MS
                v.biens.append(bien)
        return v

    def next_gap(self, v: Landlord) -> int | None:
        rng = self.rng
        if v.user_id is None:
            stage = "started" if v.signup_started else "anon"
        else:
            stage = "trial" if not v.adopted else "free" if v.plan == "free" else "paid"
        base, decay, floor, mean = t.RETURN[stage]
        return return_gap_days(rng, base=base, decay=decay, floor=floor, mean=mean, visits=v.visits)

    def crawl_target(self) -> tuple[str, str, str]:
        return self._marketing(_LANDING["organic"].pick(self.rng))

    def visit(self, w: Writer, v: Landlord, start_ms: int) -> None:
        rng = self.rng
        if v.user_id is None:
            source = _SOURCES["new"].pick(rng)
            w.begin(v, start_ms, source)
            self._anonymous(w, v, source.channel)
        else:
            if len(v.devices) == 1 and rng.random() < t.P_NEW_DEVICE:
                v.add_device(rng, "mobile" if v.devices[0].kind == "desktop" else "desktop")
            w.begin(v, start_ms, _SOURCES["known"].pick(rng))
            if rng.random() < t.P_LOGIN_PAGE:
                self._app_page(w, "/connexion")
            self._app_page(w, "/app/tableau-de-bord")
            self._app(w, v)
        w.finish()

    # -- anonymous visitors: marketing site and sign-up ---------------------------------------------
    def _marketing(self, page: str) -> tuple[str, str, str]:
        if page == "blog":
            slug, title = t.BLOG[int(self.rng.random() * len(t.BLOG))]
            return t.SITE, f"/blog/{slug}", f"{title} — Blog PropManager"
        return t.SITE, page, t.TITLES[page]

    def _anonymous(self, w: Writer, v: Landlord, channel: str) -> None:
        rng = self.rng
        page = _LANDING[channel].pick(rng)
        w.page(*self._marketing(page))
        if rng.random() < t.BOUNCE[page]:
            return
        p_start = t.P_SIGNUP_START_AGAIN if v.signup_started else t.P_SIGNUP_START
        for _ in range(t.MAX_MARKETING_PAGES):
            if page == "/tarifs" and rng.random() < p_start:
                self._signup(w, v)
                return
            page = _NEXT[page].pick(rng)
            if page == "exit":
                return
            w.page(*self._marketing(page))

    def _signup(self, w: Writer, v: Landlord) -> None:
        rng = self.rng
        self._app_page(w, "/inscription")
        w.track("signup_started", {"from_page": "/tarifs"})
        v.signup_started = True
        if rng.random() >= t.P_SIGNUP_COMPLETE:
            return
        v.plan = _SIGNUP_PLANS.pick(rng)
        v.adopted = rng.random() < t.P_ADOPT
        self._users += 1
        traits: dict[str, object] = {
            "plan": v.plan,
            "company_size": _SIZES.pick(rng),
            "signup_date": iso_date(w.now),
            "email_domain": _DOMAINS.pick(rng),
        }
        w.sign_up(f"user-{self._users}@{t.NAME}", traits)
        w.track("signed_up", {"plan": v.plan}, delay_ms=rng.randint(50, 600))
        self._app_page(w, "/app/tableau-de-bord")
        if rng.random() < t.P_ONBOARD_BIEN:
            self._add_bien(w, v)

    # -- account holders: the app -------------------------------------------------------------------
    def _app(self, w: Writer, v: Landlord) -> None:
        rng = self.rng
        for _ in range(t.MAX_ACTIONS):
            action = self._pick_action(v, w.now)
            if action == "exit":
                return
            if action == "bien":
                self._add_bien(w, v)
            elif action == "locataire":
                bien = next(b for b in v.biens if not b.tenant)
                self._app_page(w, "/app/locataires")
                w.track("locataire_added", {"bien_id": bien.id, "bien_type": bien.kind})
                bien.tenant = True
                if rng.random() < t.P_LEASE_WITH_TENANT:
                    self._lease(w, bien)
            elif action == "contrat":
                self._lease(w, next(b for b in v.biens if b.tenant and not b.rent))
            elif action == "paiements":
                self._payments(w, v)
            elif action in ("voir_bien", "document"):
                bien = v.biens[int(rng.random() * len(v.biens))]
                self._bien_page(w, bien)
                if action == "document":
                    w.track("document_uploaded", {"doc_type": _DOCS.pick(rng), "bien_id": bien.id})
            elif action == "browse":
                self._app_page(w, t.BROWSE_PAGES[int(rng.random() * len(t.BROWSE_PAGES))])
            else:
                plan = t.UPGRADE_TO[v.plan]
                w.page(t.SITE, "/tarifs", t.TITLES["/tarifs"])
                props: dict[str, object] = {"plan": plan, "previous_plan": v.plan}
                props.update(revenue=t.PLAN_PRICE_EUR[plan], currency="EUR")
                w.track("subscription_upgraded", props)
                v.plan = plan

    def _pick_action(self, v: Landlord, now: int) -> str:
        vacant = leaseless = due = False
        for b in v.biens:
            if not b.tenant:
                vacant = True
            elif not b.rent:
                leaseless = True
            elif b.due_ms <= now:
                due = True
        has = bool(v.biens)
        # Same order as t.ACTIONS: is each action applicable?
        key = (not has, vacant, leaseless, due, has, has, has and v.plan in t.UPGRADE_TO, True, True)
        picker = self._action_pickers.get(key)
        if picker is None:
            pairs = zip(t.ACTIONS.items(), key, strict=True)
            picker = self._action_pickers[key] = Weighted((a, w[0] if ok else w[1]) for (a, w), ok in pairs)
        return picker.pick(self.rng)

    def _add_bien(self, w: Writer, v: Landlord) -> None:
        bien = self._new_bien()
        v.biens.append(bien)
        self._app_page(w, "/app/biens")
        w.track(
            "bien_created",
            {"bien_id": bien.id, "type": bien.kind, "surface": bien.surface, "city": bien.city},
        )
        self._bien_page(w, bien)

    def _lease(self, w: Writer, bien: Bien) -> None:
        rng = self.rng
        bien.rent = self._rent(bien)
        bien.due_ms = w.now + rng.randint(*t.FIRST_DUE_DAYS) * DAY_MS
        self._app_page(w, "/app/contrats")
        props: dict[str, object] = {"bien_id": bien.id, "rent": bien.rent, "currency": "EUR"}
        props["duration_months"] = t.LEASE_MONTHS[bien.kind]
        w.track("contract_signed", props)
        if rng.random() < t.P_LEASE_DOCUMENT:
            w.track("document_uploaded", {"doc_type": "bail", "bien_id": bien.id})

    def _payments(self, w: Writer, v: Landlord) -> None:
        rng = self.rng
        self._app_page(w, "/app/paiements")
        props: dict[str, object]
        for bien in v.biens:
            while bien.rent and bien.due_ms <= w.now:
                if not bien.late and rng.random() < t.P_OVERDUE:
                    bien.late = True
                    props = {"bien_id": bien.id, "amount": float(bien.rent), "currency": "EUR"}
                    props["days_late"] = rng.randint(*t.LATE_DAYS)
                    w.track("payment_overdue", props)
                    break
                rent = float(bien.rent)
                props = {
                    "bien_id": bien.id,
                    "amount": rent,
                    "revenue": rent,
                    "currency": "EUR",
                    "late": bien.late,
                }
                w.track("payment_received", props)
                bien.late = False
                bien.due_ms += t.RENT_PERIOD_DAYS * DAY_MS

    def _app_page(self, w: Writer, path: str) -> None:
        w.page(t.APP, path, t.TITLES[path])

    def _bien_page(self, w: Writer, bien: Bien) -> None:
        w.page(t.APP, f"/app/biens/{bien.id}", f"{bien.kind.capitalize()} à {bien.city} — PropManager")

    def _new_bien(self) -> Bien:
        rng = self.rng
        self._biens += 1
        kind = _TYPES.pick(rng)
        _, lo, hi = t.BIEN_TYPES[kind]
        return Bien(self._biens, kind, rng.randint(lo, hi), _CITIES.pick(rng))

    def _rent(self, bien: Bien) -> int:
        per_m2 = t.CITIES[bien.city][1] * (t.COMMERCIAL_RENT_FACTOR if bien.kind == "local" else 1.0)
        return max(t.MIN_RENT, round(bien.surface * per_m2 * self.rng.uniform(*t.RENT_JITTER) / 10) * 10)
