"""Tables (probabilities, prices, content) behind the propmanager demo product: see propmanager.py."""

from __future__ import annotations

from belvedere.demo.session import Profile

NAME = "propmanager"
SITE = "propmanager.fr"
APP = "app.propmanager.fr"

# fmt: off
PROFILE = Profile(
    share=0.55,
    weekday=(1.04, 1.05, 1.02, 1.0, 0.94, 0.6, 0.55),  # Monday..Sunday: B2B, weekends ~40 % lower
    hourly=(0.5, 0.25, 0.15, 0.12, 0.12, 0.2, 0.6, 1.6, 3.2, 5.0, 5.6, 5.4,  # 0h..11h
            3.6, 3.9, 5.0, 5.3, 5.2, 4.8, 3.9, 3.0, 2.8, 2.6, 1.9, 1.1),  # 12h..23h
    weekend_skip=0.45,
    warm_users=0.40,
    bot_share=0.01,
)
# fmt: on

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

# fmt: off
# Traffic source of a visit (keys of catalog.SOURCES) for anonymous visitors and for account holders.
SOURCE_WEIGHTS: dict[str, dict[str, float]] = {
    "new": {"direct": 22, "google": 30, "bing": 4, "duckduckgo": 3, "facebook": 5, "linkedin": 4,
            "twitter": 1, "reddit": 2, "newsletter": 3, "adwords": 14, "blogs": 7},
    "known": {"direct": 72, "google": 9, "bing": 2, "duckduckgo": 1, "facebook": 2, "linkedin": 2,
              "newsletter": 12},
}
# fmt: on
# Landing page per channel; "blog" stands for a random article.
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
P_ADOPT = 0.40  # a new account keeps using the product (otherwise it is soon abandoned)
P_ONBOARD_BIEN = 0.15  # creates a first property right after signing up
P_LOGIN_PAGE = 0.25  # a known user goes through /connexion (expired session)
P_NEW_DEVICE = 0.03  # per visit, a known user with one device starts using a second one
P_EXISTING_LEASED = 0.85  # share of the properties of pre-existing accounts that are let
EXISTING_BIENS_MEAN = {"free": 1.7, "paid": 3.3}  # properties per pre-existing account (exponential, +1)
MAX_BIENS = 12
SIGNUP_PLANS: tuple[tuple[str, float], ...] = (("free", 70), ("pro", 25), ("business", 5))
EXISTING_PLANS: tuple[tuple[str, float], ...] = (("free", 50), ("pro", 38), ("business", 12))
PLAN_PRICE_EUR: dict[str, float] = {"free": 0.0, "pro": 19.0, "business": 49.0}  # monthly
UPGRADE_TO: dict[str, str] = {"free": "pro", "pro": "business"}
COMPANY_SIZES: tuple[tuple[str, float], ...] = (("1", 72), ("2-10", 23), ("11-50", 5))
BIEN_TYPES: dict[str, tuple[float, int, int]] = {  # weight, surface range (m²)
    "appartement": (70, 18, 120),
    "maison": (22, 55, 220),
    "local": (8, 25, 300),
}
# fmt: off
CITIES: dict[str, tuple[float, float]] = {  # weight, monthly rent per m² (EUR)
    "Paris": (18, 30.0), "Lyon": (10, 15.0), "Marseille": (9, 14.0), "Bordeaux": (7, 14.5),
    "Lille": (7, 14.0), "Toulouse": (7, 13.5), "Nantes": (6, 13.5), "Nice": (5, 18.0),
    "Montpellier": (5, 15.0), "Rennes": (5, 13.5), "Strasbourg": (4, 13.0), "Grenoble": (4, 12.5),
    "Saint-Étienne": (3, 9.0), "Limoges": (3, 9.5),
}
DOC_TYPES: tuple[tuple[str, float], ...] = (
    ("bail", 30), ("etat_des_lieux", 25), ("quittance", 20), ("assurance", 15), ("diagnostic", 10),
)
# fmt: on
RENT_JITTER = (0.85, 1.15)
COMMERCIAL_RENT_FACTOR = 0.8  # "local" rents per m² relative to housing
MIN_RENT = 250
LEASE_MONTHS = {"maison": 36, "appartement": 12, "local": 36}
P_LEASE_DOCUMENT = 0.6  # the signed lease is uploaded right away

# Actions of a signed-in visit: (weight when applicable, weight otherwise).
ACTIONS: dict[str, tuple[float, float]] = {
    "bien": (3.0, 0.4),  # applicable: no property yet
    "locataire": (1.2, 0.0),  # applicable: a property without tenant
    "contrat": (5.0, 0.0),  # applicable: a tenant without lease
    "paiements": (9.0, 1.0),  # applicable: a rent is due
    "voir_bien": (3.0, 0.0),  # applicable: owns a property
    "document": (1.2, 0.0),  # applicable: owns a property
    "upgrade": (0.25, 0.0),  # applicable: owns a property and is not on the top plan
    "browse": (5.0, 5.0),
    "exit": (2.5, 2.5),
}
MAX_ACTIONS = 10
BROWSE_PAGES = ("/app/biens", "/app/locataires", "/app/paiements", "/app/contrats", "/app/tableau-de-bord")
P_LEASE_WITH_TENANT = 0.5  # the lease is signed right after adding the tenant
FIRST_DUE_DAYS = (2, 20)  # first rent due this many days after the lease
RENT_PERIOD_DAYS = 30
P_OVERDUE = 0.12  # a due rent is first reported late
LATE_DAYS = (2, 25)
# stage: (chance to come back after the first visit, decay per visit, floor, mean days between visits)
RETURN: dict[str, tuple[float, float, float, float]] = {
    "anon": (0.30, 0.70, 0.0, 5.0),
    "started": (0.60, 0.80, 0.0, 2.5),  # began signing up
    "trial": (0.40, 0.70, 0.0, 5.0),  # signed up without adopting the product
    "free": (0.95, 1.0, 0.90, 4.0),
    "paid": (0.98, 1.0, 0.97, 3.0),
}
