"""propmanager: a French property-management SaaS (marketing site + web app)."""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from belvedere.demo.catalog import EMAIL_DOMAINS, SOURCES
from belvedere.demo.session import ProductModel, Profile, Visitor, Weighted, Writer, iso_date

NAME = "propmanager"
SITE = "propmanager.fr"
APP = "app.propmanager.fr"
DAY_MS = 86_400_000

PROFILE = Profile(
    share=0.55,
    weekday=(1.04, 1.05, 1.02, 1.0, 0.94, 0.6, 0.55),
    hourly=(0.5, 0.25, 0.15, 0.12, 0.12, 0.2, 0.6, 1.6, 3.2, 5.0, 5.6, 5.4,
            3.6, 3.9, 5.0, 5.3, 5.2, 4.8, 3.9, 3.0, 2.8, 2.6, 1.9, 1.1),
    weekend_skip=0.45,
    warm_users=0.10,
    bot_share=0.01,
)

TITLES: dict[str, str] = {
    "/": "PropManager — la gestion locative simplifiée",
    "/tarifs": "Tarifs — PropManager",
    "/fonctionnalites": "Fonctionnalités — PropManager",
    "/inscription": "Créer votre compte — PropManager",
    "/connexion": "Connexion — PropManager",
    "/app/tableau-de-bord": "Tableau de bord — PropManager",
    "/app/biens": "Mes biens — PropManager",
    "/app/locataires": "Locataires — PropManager",
    "/app/paiements": "Paiements — PropManager",
    "/app/contrats": "Contrats — PropManager",
}
BLOG: tuple[tuple[str, str], ...] = (
    ("calculer-rendement-locatif", "Calculer le rendement d'un investissement locatif"),
    ("encadrement-des-loyers", "Encadrement des loyers : les villes concernées"),
    ("depot-de-garantie", "Dépôt de garantie : montant et délai de restitution"),
    ("bail-meuble-ou-vide", "Location meublée ou vide : que choisir ?"),
    ("revision-loyer-irl", "Réviser son loyer avec l'IRL"),
    ("lmnp-regime-reel", "LMNP : le régime réel expliqué"),
    ("modele-quittance-de-loyer", "Modèle de quittance de loyer gratuit"),
    ("loyer-impaye-que-faire", "Loyer impayé : les étapes à suivre"),
)

SOURCE_WEIGHTS: dict[str, dict[str, float]] = {
    "new": {"direct": 22, "google": 30, "bing": 4, "duckduckgo": 3, "facebook": 5, "linkedin": 4, "twitter": 1,
            "reddit": 2, "newsletter": 3, "adwords": 14, "blogs": 7},
    "known": {"direct": 72, "google": 9, "bing": 2, "duckduckgo": 1, "facebook": 2, "linkedin": 2,
              "newsletter": 12},
}
# Landing page per channel; "blog" means a random article.
LANDING: dict[str, tuple[tuple[str, float], ...]] = {
    "direct": (("/", 70), ("/tarifs", 15), ("/fonctionnalites", 10), ("blog", 5)),
    "organic": (("/", 30), ("blog", 50), ("/tarifs", 10), ("/fonctionnalites", 10)),
    "social": (("blog", 65), ("/", 35)),
    "email": (("blog", 60), ("/tarifs", 25), ("/", 15)),
    "paid": (("/", 45), ("/tarifs", 40), ("/fonctionnalites", 15)),
    "referral": (("/", 50), ("/tarifs", 20), ("blog", 30)),
}
BOUNCE: dict[str, float] = {"/": 0.42, "/tarifs": 0.40, "/fonctionnalites": 0.45, "blog": 0.55}
NEXT_PAGE: dict[str, tuple[tuple[str, float], ...]] = {
    "/": (("/fonctionnalites", 35), ("/tarifs", 35), ("blog", 10), ("exit", 20)),
    "/fonctionnalites": (("/tarifs", 45), ("/", 10), ("blog", 10), ("exit", 35)),
    "blog": (("blog", 25), ("/", 20), ("/tarifs", 15), ("/fonctionnalites", 10), ("exit", 30)),
    "/tarifs": (("/fonctionnalites", 20), ("/", 10), ("blog", 5), ("exit", 65)),
}
MAX_MARKETING_PAGES = 7
P_SIGNUP_START = 0.30  # on /tarifs, first time
P_SIGNUP_START_AGAIN = 0.45  # on /tarifs, for a visitor who already started once
P_SIGNUP_COMPLETE = 0.55
P_ONBOARD_BIEN = 0.40  # creates a first property right after signing up
P_LOGIN_PAGE = 0.25  # a known user goes through /connexion (expired session)
P_NEW_DEVICE = 0.03  # a known user starts using a second device
SIGNUP_PLANS: tuple[tuple[str, float], ...] = (("free", 70), ("pro", 25), ("business", 5))
EXISTING_PLANS: tuple[tuple[str, float], ...] = (("free", 50), ("pro", 38), ("business", 12))
PLAN_PRICE_EUR: dict[str, float] = {"free": 0.0, "pro": 19.0, "business": 49.0}
UPGRADE_TO: dict[str, str] = {"free": "pro", "pro": "business"}
COMPANY_SIZES: tuple[tuple[str, float], ...] = (("1", 72), ("2-10", 23), ("11-50", 5))
BIEN_TYPES: dict[str, tuple[float, int, int]] = {  # weight, surface range (m²)
    "appartement": (70, 18, 120), "maison": (22, 55, 220), "local": (8, 25, 300)}
CITIES: dict[str, tuple[float, float]] = {  # weight, monthly rent per m² (EUR)
    "Paris": (18, 30.0), "Lyon": (10, 15.0), "Marseille": (9, 14.0), "Bordeaux": (7, 14.5), "Lille": (7, 14.0),
    "Toulouse": (7, 13.5), "Nantes": (6, 13.5), "Nice": (5, 18.0), "Montpellier": (5, 15.0), "Rennes": (5, 13.5),
    "Strasbourg": (4, 13.0), "Grenoble": (4, 12.5), "Saint-Étienne": (3, 9.0), "Limoges": (3, 9.5),
}
DOC_TYPES: tuple[tuple[str, float], ...] = (("bail", 30), ("etat_des_lieux", 25), ("quittance", 20),
                                            ("assurance", 15), ("diagnostic", 10))
# Actions of a signed-in visit: (weight when applicable, weight otherwise).
ACTIONS: dict[str, tuple[float, float]] = {
    "bien": (5.0, 0.5),  # applicable: no property yet
    "locataire": (5.0, 0.0),  # applicable: a property without tenant
    "contrat": (6.0, 0.0),  # applicable: a tenant without lease
    "paiements": (9.0, 1.2),  # applicable: a rent is due
    "voir_bien": (3.0, 0.0),  # applicable: owns a property
    "document": (1.5, 0.0),
    "upgrade": (0.3, 0.0),  # applicable: not on the top plan and owns a property
    "exit": (3.5, 3.5),
}
MAX_ACTIONS = 6
P_OVERDUE = 0.12  # a due rent is first reported late
LATE_DAYS = (2, 25)
FIRST_DUE_DAYS = (3, 30)
# stage: (chance to come back after the first visit, decay per visit, floor, mean days between visits)
RETURN: dict[str, tuple[float, float, float, float]] = {
    "anon": (0.30, 0.70, 0.0, 5.0),
    "started": (0.60, 0.80, 0.0, 2.5),
    "free": (0.80, 0.985, 0.35, 3.5),
    "paid": (0.90, 0.99, 0.60, 2.2),
}


@dataclass(slots=True, eq=False)
class Bien:
    id: int
    kind: str
    surface: int
    city: str
    tenant: bool = False
    rent: int = 0  # monthly rent once a lease is signed
    due_ms: int = 0
    late: bool = False


@dataclass(slots=True, eq=False)
class Landlord(Visitor):
    signup_started: bool = False
    plan: str = "free"
    biens: list[Bien] = field(default_factory=list)


def _pairs(table: dict[str, float]) -> Weighted[str]:
    return Weighted(table.items())


_SOURCES = {k: Weighted((SOURCES[NAME][s], w) for s, w in ws.items()) for k, ws in SOURCE_WEIGHTS.items()}
_LANDING = {k: Weighted(v) for k, v in LANDING.items()}
_NEXT = {k: Weighted(v) for k, v in NEXT_PAGE.items()}
_SIGNUP_PLANS, _EXISTING_PLANS = Weighted(SIGNUP_PLANS), Weighted(EXISTING_PLANS)
_SIZES, _DOMAINS, _DOCS = Weighted(COMPANY_SIZES), Weighted(EMAIL_DOMAINS), Weighted(DOC_TYPES)
_TYPES = Weighted((k, v[0]) for k, v in BIEN_TYPES.items())
_CITIES = Weighted((k, v[0]) for k, v in CITIES.items())


class PropManager(ProductModel[Landlord]):
    name = NAME
    hosts = (SITE, APP)
    profile = PROFILE

    def __init__(self, rng: Random) -> None:
        super().__init__(rng)
        self._users = 0
        self._biens = 0

    # -- visitors ---------------------------------------------------------------------------------
    def new_visitor(self, existing: bool, now_ms: int) -> Landlord:
        rng = self.rng
        v = Landlord.spawn(rng, NAME)
        if existing:
            self._users += 1
            v.user_id = f"user-{self._users}@{NAME}"
            v.plan = _EXISTING_PLANS.pick(rng)
            for _ in range(min(12, 1 + int(rng.expovariate(0.6 if v.plan == "free" else 0.3)))):
                bien = self._new_bien()
                if rng.random() < 0.85:
                    bien.tenant = True
                    bien.rent = self._rent(bien)
                    bien.due_ms = now_ms + rng.randint(0, 30) * DAY_MS
                v.biens.append(bien)
        return v

    def next_gap(self, v: Landlord) -> int | None:
        rng = self.rng
        if v.user_id is None:
            stage = "started" if v.signup_started else "anon"
        else:
            stage = "free" if v.plan == "free" else "paid"
        base, decay, floor, mean = RETURN[stage]
        if rng.random() >= max(floor, base * decay ** max(0, v.visits - 1)):
            return None
        return 1 + int(rng.expovariate(1.0 / (mean - 1.0)))

    def crawl_target(self) -> tuple[str, str, str]:
        return self._marketing(_LANDING["organic"].pick(self.rng))

    # -- visits -----------------------------------------------------------------------------------
    def visit(self, w: Writer, v: Landlord, start_ms: int) -> None:
        rng = self.rng
        if v.user_id is None:
            source = _SOURCES["new"].pick(rng)
            w.begin(v, start_ms, source)
            self._anonymous(w, v, source.channel)
        else:
            if len(v.devices) == 1 and rng.random() < P_NEW_DEVICE:
                v.add_device(rng, "mobile" if v.devices[0].kind == "desktop" else "desktop")
            w.begin(v, start_ms, _SOURCES["known"].pick(rng))
            if rng.random() < P_LOGIN_PAGE:
                w.page(APP, "/connexion", TITLES["/connexion"])
            w.page(APP, "/app/tableau-de-bord", TITLES["/app/tableau-de-bord"])
            self._app(w, v)
        w.finish()

    def _marketing(self, page: str) -> tuple[str, str, str]:
        if page == "blog":
            slug, title = BLOG[self.rng.randrange(len(BLOG))]
            return SITE, f"/blog/{slug}", f"{title} — Blog PropManager"
        return SITE, page, TITLES[page]

    def _anonymous(self, w: Writer, v: Landlord, channel: str) -> None:
        rng = self.rng
        page = _LANDING[channel].pick(rng)
        w.page(*self._marketing(page))
        if rng.random() < BOUNCE[page]:
            return
        for _ in range(MAX_MARKETING_PAGES):
            if page == "/tarifs" and rng.random() < (P_SIGNUP_START_AGAIN if v.signup_started else P_SIGNUP_START):
                self._signup(w, v)
                return
            page = _NEXT[page].pick(rng)
            if page == "exit":
                return
            w.page(*self._marketing(page))

    def _signup(self, w: Writer, v: Landlord) -> None:
        rng = self.rng
        w.page(APP, "/inscription", TITLES["/inscription"])
        w.track("signup_started", {"from_page": "/tarifs"})
        v.signup_started = True
        if rng.random() >= P_SIGNUP_COMPLETE:
            return
        v.plan = _SIGNUP_PLANS.pick(rng)
        self._users += 1
        w.now += w.think()
        traits: dict[str, object] = {"plan": v.plan, "company_size": _SIZES.pick(rng),
                                     "signup_date": iso_date(w.now), "email_domain": _DOMAINS.pick(rng)}
        w.sign_up(f"user-{self._users}@{NAME}", traits)
        w.track("signed_up", {"plan": v.plan}, delay_ms=rng.randint(50, 600))
        w.page(APP, "/app/tableau-de-bord", TITLES["/app/tableau-de-bord"])
        if rng.random() < P_ONBOARD_BIEN:
            self._add_bien(w, v)

    def _app(self, w: Writer, v: Landlord) -> None:
        rng = self.rng
        for _ in range(MAX_ACTIONS):
            action = self._pick_action(v, w.now)
            if action == "exit":
                return
            if action == "bien":
                self._add_bien(w, v)
            elif action == "locataire":
                bien = next(b for b in v.biens if not b.tenant)
                w.page(APP, "/app/locataires", TITLES["/app/locataires"])
                w.track("locataire_added", {"bien_id": bien.id, "bien_type": bien.kind})
                bien.tenant = True
            elif action == "contrat":
                bien = next(b for b in v.biens if b.tenant and not b.rent)
                bien.rent = self._rent(bien)
                bien.due_ms = w.now + rng.randint(*FIRST_DUE_DAYS) * DAY_MS
                w.page(APP, "/app/contrats", TITLES["/app/contrats"])
                w.track("contract_signed", {"bien_id": bien.id, "rent": bien.rent, "currency": "EUR",
                                            "duration_months": 36 if bien.kind == "maison" else 12})
                if rng.random() < 0.6:
                    w.track("document_uploaded", {"doc_type": "bail", "bien_id": bien.id})
            elif action == "paiements":
                self._payments(w, v)
            elif action == "voir_bien":
                bien = v.biens[rng.randrange(len(v.biens))]
                w.page(APP, f"/app/biens/{bien.id}", f"{bien.kind.capitalize()} à {bien.city} — PropManager")
            elif action == "document":
                bien = v.biens[rng.randrange(len(v.biens))]
                w.page(APP, f"/app/biens/{bien.id}", f"{bien.kind.capitalize()} à {bien.city} — PropManager")
                w.track("document_uploaded", {"doc_type": _DOCS.pick(rng), "bien_id": bien.id})
            else:
                new_plan = UPGRADE_TO[v.plan]
                w.page(SITE, "/tarifs", TITLES["/tarifs"])
                w.track("subscription_upgraded", {"plan": new_plan, "previous_plan": v.plan,
                                                  "revenue": PLAN_PRICE_EUR[new_plan], "currency": "EUR"})
                v.plan = new_plan

    def _pick_action(self, v: Landlord, now: int) -> str:
        has = bool(v.biens)
        applicable = {
            "bien": not has,
            "locataire": any(not b.tenant for b in v.biens),
            "contrat": any(b.tenant and not b.rent for b in v.biens),
            "paiements": any(b.rent and b.due_ms <= now for b in v.biens),
            "voir_bien": has,
            "document": has,
            "upgrade": has and v.plan in UPGRADE_TO,
            "exit": True,
        }
        return Weighted((a, w[0] if applicable[a] else w[1]) for a, w in ACTIONS.items()).pick(self.rng)

    def _payments(self, w: Writer, v: Landlord) -> None:
        rng = self.rng
        w.page(APP, "/app/paiements", TITLES["/app/paiements"])
        for bien in v.biens:
            while bien.rent and bien.due_ms <= w.now:
                if not bien.late and rng.random() < P_OVERDUE:
                    bien.late = True
                    w.track("payment_overdue", {"bien_id": bien.id, "amount": bien.rent, "currency": "EUR",
                                                "days_late": rng.randint(*LATE_DAYS)})
                    break
                w.track("payment_received", {"bien_id": bien.id, "amount": float(bien.rent),
                                             "revenue": float(bien.rent), "currency": "EUR", "late": bien.late})
                bien.late = False
                bien.due_ms += 30 * DAY_MS

    def _add_bien(self, w: Writer, v: Landlord) -> None:
        bien = self._new_bien()
        v.biens.append(bien)
        w.page(APP, "/app/biens", TITLES["/app/biens"])
        w.track("bien_created", {"bien_id": bien.id, "type": bien.kind, "surface": bien.surface, "city": bien.city})
        w.page(APP, f"/app/biens/{bien.id}", f"{bien.kind.capitalize()} à {bien.city} — PropManager")

    def _new_bien(self) -> Bien:
        rng = self.rng
        self._biens += 1
        kind = _TYPES.pick(rng)
        _, lo, hi = BIEN_TYPES[kind]
        return Bien(self._biens, kind, rng.randint(lo, hi), _CITIES.pick(rng))

    def _rent(self, bien: Bien) -> int:
        per_m2 = CITIES[bien.city][1] * (0.8 if bien.kind == "local" else 1.0)
        return max(250, round(bien.surface * per_m2 * self.rng.uniform(0.85, 1.15) / 10) * 10)
