"""Name pools per culture, in Latin script and (where the culture writes another one) native script.

Each given name carries its gender, a nickname where one is common, and alternative Latin
transliterations (Mohammed / Muhammad / Mohamed), which is exactly what makes matching hard.
Pools are static; people draw indices into them, so rendering a million names is a numpy
`take`, not a Python loop. The Latin-script pools hold a few thousand full names per culture:
with a few hundred, a million customers made a namesake at the same postcode commonplace, which
real name distributions do not (the deliberate namesakes are drawn in people.py).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

CULTURES: tuple[str, ...] = ("de", "en", "ar", "he", "zh", "ms", "sv", "pl")
# Share of persons per culture, and the countries each culture lives in (with weights).
CULTURE_WEIGHTS: tuple[float, ...] = (0.40, 0.20, 0.09, 0.05, 0.09, 0.07, 0.05, 0.05)
CULTURE_COUNTRIES: dict[str, tuple[tuple[str, float], ...]] = {
    "de": (("DE", 0.75), ("AT", 0.13), ("CH", 0.12)),
    "en": (("GB", 0.55), ("US", 0.45)),
    "ar": (("AE", 0.5), ("DE", 0.35), ("GB", 0.15)),
    "he": (("IL", 0.7), ("US", 0.2), ("DE", 0.1)),
    "zh": (("CN", 0.6), ("MY", 0.15), ("US", 0.15), ("GB", 0.1)),
    "ms": (("MY", 0.6), ("ID", 0.4)),
    "sv": (("SE", 1.0),),
    "pl": (("PL", 0.8), ("DE", 0.2)),
}
NON_LATIN: frozenset[str] = frozenset({"ar", "he", "zh"})

# culture: "latin/native/gender/nickname/variant|variant" entries ("" = same as latin / none)
_GIVEN: dict[str, str] = {
    "de": "Alexander//m/Alex/ Michael//m/Micha/ Thomas//m/Tom/ Stefan//m//Stephan "
    "Andreas//m/Andi/ Johannes//m/Hannes/ Maximilian//m/Max/ Friedrich//m/Fritz/ "
    "Wolfgang//m/Wolf/ Jürgen//m//Juergen Jörg//m//Joerg Günther//m//Gunther "
    "Katharina//f/Kathi/Katarina Elisabeth//f/Lisa/Elisabet Susanne//f/Susi/ "
    "Christina//f/Tina/Kristina Anna//f// Julia//f/Jule/ Sabine//f/Bine/ Ursula//f/Uschi/ "
    "Monika//f/Moni/ Peter//m// Klaus//m// Jan//m// Lukas//m// Felix//m// Paul//m// "
    "Jonas//m// Tobias//m// Martin//m// Markus//m// Dieter//m// Uwe//m// Bernd//m// "
    "Florian//m// Sebastian//m// Matthias//m// Christian//m// Simon//m// Ralf//m// "
    "Holger//m// Petra//f// Claudia//f// Andrea//f// Stefanie//f// Nicole//f// "
    "Birgit//f// Heike//f// Sandra//f// Martina//f// Laura//f// Lena//f// Leonie//f// "
    "Hannah//f// Sophie//f// Marie//f// Jana//f// Kerstin//f// Angelika//f// Renate//f// "
    "Gabriele//f//",
    "en": "Robert//m/Bob/ William//m/Bill/ Richard//m/Rick/ James//m/Jim/ John//m/Jack/ "
    "Michael//m/Mike/ Daniel//m/Dan/ Christopher//m/Chris/ Thomas//m/Tom/ "
    "Anthony//m/Tony/ Elizabeth//f/Liz/Elisabeth Margaret//f/Peggy/ "
    "Katherine//f/Kate/Catherine Jennifer//f/Jenny/ Patricia//f/Pat/ Susan//f/Sue/ "
    "Rebecca//f/Becky/ Victoria//f/Vicky/ Emily//f// Olivia//f/Liv/ David//m// Paul//m// "
    "Mark//m// George//m// Steven//m// Andrew//m// Kenneth//m// Joshua//m// Kevin//m// "
    "Brian//m// Edward//m// Ryan//m// Jacob//m// Gary//m// Nicholas//m// Jonathan//m// "
    "Harry//m// Oliver//m// Henry//m// Samuel//m// Mary//f// Linda//f// Barbara//f// "
    "Karen//f// Nancy//f// Betty//f// Helen//f// Donna//f// Carol//f// Ruth//f// "
    "Sharon//f// Michelle//f// Amanda//f// Melissa//f// Deborah//f// Rachel//f// "
    "Charlotte//f// Amelia//f// Grace//f// Lucy//f//",
    "ar": "Mohammed/محمد/m//Muhammad|Mohamed Ahmad/أحمد/m//Ahmed Ali/علي/m// Omar/عمر/m//Umar "
    "Hassan/حسن/m//Hasan Reza/رضا/m//Rida Karim/كريم/m//Kareem Fatima/فاطمة/f//Fatemeh "
    "Aisha/عائشة/f//Aysha|Aicha Leila/ليلى/f//Layla|Laila Maryam/مريم/f//Mariam "
    "Zahra/زهرا/f//Zahraa Sara/سارا/f//Sarah Nadia/نادية/f//Nadiya",
    "he": "David/דוד/m/Dudi/ Moshe/משה/m//Moishe Yosef/יוסף/m/Yossi/Joseph Avraham/אברהם/m/Avi/ "
    "Noam/נועם/m// Itzhak/יצחק/m/Itzik/Yitzhak Sarah/שרה/f//Sara Rivka/רבקה/f//Rebecca "
    "Tamar/תמר/f// Noa/נועה/f// Yael/יעל/f//Jael Miriam/מרים/f//Miryam",
    "zh": "Wei/伟/m// Jun/军/m// Hao/浩/m// Lei/磊/m// Ming/明/m// Jian/建/m// Jing/静/f// "
    "Li/丽/f// Fang/芳/f// Xiuying/秀英/f//Xiu Ying Yan/燕/f// Mei/梅/f//",
    "ms": "Ahmad//m//Ahmed Muhammad//m//Mohd Ismail//m// Hafiz//m// Razak//m// Budi//m// "
    "Siti//f// Nurul//f//Nur Aisyah//f//Aishah Farah//f// Dewi//f// Wulandari//f//",
    "sv": "Erik//m//Eric Lars//m// Anders//m// Johan//m// Karl//m//Carl Anna//f// Maria//f// "
    "Eva//f// Karin//f// Kristina//f/Stina/Christina Per//m// Nils//m// Olof//m// "
    "Mikael//m// Gustav//m// Magnus//m// Björn//m// Fredrik//m// Ingrid//f// "
    "Birgitta//f// Elin//f// Sofia//f// Linnea//f// Astrid//f// Emma//f// Ebba//f//",
    "pl": "Piotr//m// Krzysztof//m/Krzysiek/ Andrzej//m// Tomasz//m/Tomek/ Paweł//m//Pawel "
    "Anna//f/Ania/ Katarzyna//f/Kasia/ Małgorzata//f/Gosia/ Agnieszka//f// "
    "Magdalena//f/Magda/ Jan//m// Marek//m// Michał//m// Grzegorz//m// Jerzy//m// "
    "Tadeusz//m// Adam//m// Łukasz//m// Zbigniew//m// Barbara//f// Ewa//f// Elżbieta//f// "
    "Zofia//f// Joanna//f// Aleksandra//f// Beata//f// Dorota//f//",
}
_FAMILY: dict[str, str] = {
    "de": "Müller// Schmidt// Schneider// Fischer// Weber// Meyer//Meier Wagner// Becker// "
    "Schulz// Hoffmann// Schäfer// Koch// Bauer// Richter// Klein// Wolf// Schröder// "
    "Neumann// Schwarz// Zimmermann// Krüger// Hartmann// Lange// Werner// Schmitz// "
    "Krause// Lehmann// Köhler// Herrmann// König// Walter// Huber// Kaiser// Fuchs// "
    "Peters// Scholz// Möller// Weiß// Jung// Hahn// Schubert// Vogel// Keller// Berger// "
    "Winkler// Roth// Beck// Lorenz// Baumann// Albrecht// Schuster// Ludwig// Böhm// "
    "Winter// Schumacher// Krämer// Vogt// Stein// Jäger// Otto// Sommer// Groß// "
    "Seidel// Heinrich// Brandt// Haas// Schreiber// Graf// Schulte// Dietrich// "
    "Ziegler// Kuhn// Pohl// Engel// Horn// Busch// Bergmann// Voigt// Sauer// Arnold// "
    "Pfeiffer// Ernst// Kühne// Thiel//",
    "en": "Smith// Johnson// Williams// Brown// Jones// Taylor// Davies//Davis Evans// Wilson// "
    "Roberts// Walker// Wright// Thompson// White// Hughes// Edwards// Green// Hall// "
    "Wood// Harris// Clarke//Clark Jackson// Martin// Lewis// Robinson// Young// Allen// "
    "King// Scott// Baker// Adams// Mitchell// Campbell// Anderson// Turner// Parker// "
    "Cooper// Morris// Moore// Ward// Watson// Morgan// Cook// Bell// Murphy// Bailey// "
    "Price// Richardson// Cox// Kelly// Marshall// Simpson// Stewart// Collins// "
    "Phillips// Bennett// Ellis// Russell// Palmer// Mason// Webb// Rogers// Hunt// "
    "Holmes// Mills// Owen// Shaw// Lloyd// Gray// Knight// Butler// Barnes// Chapman// "
    "Harrison// Carter// Fox// Pearson// Foster// Dixon// Hunter// Reid// Graham// "
    "Kennedy//",
    "ar": "Haddad/حداد/ Khalil/خليل/Khaleel Rahimi/رحيمي/ Hosseini/حسيني/Husseini "
    "Karimi/كريمي/ Nasser/ناصر/Nasir Mansour/منصور/Mansur Saleh/صالح/Salih "
    "Farahani/فراهاني/ Abbas/عباس/ Haddadi/حدادي/ Yousef/يوسف/Yusuf",
    "he": "Cohen/כהן/Kohen Levi/לוי/Levy Mizrahi/מזרחי/ Peretz/פרץ/Perez Biton/ביטון/ "
    "Friedman/פרידמן/Fridman Shapiro/שפירו/Shapira Katz/כץ/ Avraham/אברהם/ Dahan/דהן/",
    "zh": "Wang/王/ Li/李/Lee Zhang/张/Chang Liu/刘/Lau Chen/陈/Chan Yang/杨/ Huang/黄/Wong "
    "Zhao/赵/Chao Wu/吴/Ng Zhou/周/Chow",
    "ms": "",  # patronymics (bin/binti + father's name) or a single name; built in people.py
    "sv": "Andersson// Johansson// Karlsson//Carlsson Nilsson// Eriksson// Larsson// Olsson// "
    "Persson// Jansson// Hansson// Bengtsson// Jönsson// Lindberg// Jakobsson// "
    "Magnusson// Lindström// Olofsson// Lindqvist// Lindgren// Berg// Axelsson// "
    "Bergström// Lundberg// Lundgren// Mattsson// Berglund// Fredriksson// Sandberg// "
    "Henriksson// Forsberg//",
    "pl": "Nowak// Wójcik//Wojcik Kowalczyk// Woźniak//Wozniak Mazur// Krawczyk// Kaczmarek// "
    "Zieliński//Zielinski Kowalski// Wiśniewski// Lewandowski// Kamiński// Dąbrowski// "
    "Zając// Szymański// Wojciechowski// Kozłowski// Jankowski// Kwiatkowski// "
    "Piotrowski// Grabowski// Nowakowski// Pawłowski// Michalski// Nowicki// Adamczyk// "
    "Dudek// Wieczorek// Jabłoński// Król//",
}
COMPANY_FORMS: dict[str, tuple[str, ...]] = {
    "DE": ("GmbH", "AG", "KG", "GmbH & Co. KG"),
    "AT": ("GmbH",),
    "CH": ("AG", "GmbH"),
    "GB": ("Ltd", "PLC", "LLP"),
    "US": ("Inc.", "LLC", "Corp."),
    "SE": ("AB",),
    "PL": ("Sp. z o.o.", "S.A."),
    "AE": ("LLC", "FZE"),
    "IL": ("Ltd.",),
    "CN": ("Co., Ltd.",),
    "MY": ("Sdn Bhd", "Bhd"),
    "ID": ("PT",),
}
COMPANY_WORDS: tuple[str, ...] = (
    "Kaffee",
    "Coffee",
    "Trading",
    "Gastro",
    "Hospitality",
    "Office Services",
    "Catering",
    "Hotels",
    "Roasters",
    "Bakery",
    "Consulting",
    "Logistics",
)
INDUSTRIES: tuple[str, ...] = (
    "hospitality",
    "retail",
    "office",
    "catering",
    "healthcare",
    "education",
    "manufacturing",
)
EMAIL_DOMAINS: dict[str, tuple[str, ...]] = {
    "DE": ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.com"),
    "AT": ("gmail.com", "gmx.at", "aon.at"),
    "CH": ("gmail.com", "bluewin.ch", "gmx.ch"),
    "GB": ("gmail.com", "outlook.com", "yahoo.co.uk", "btinternet.com"),
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com"),
    "SE": ("gmail.com", "telia.com", "outlook.com"),
    "PL": ("gmail.com", "wp.pl", "onet.pl"),
    "AE": ("gmail.com", "hotmail.com", "eim.ae"),
    "IL": ("gmail.com", "walla.co.il"),
    "CN": ("qq.com", "163.com", "gmail.com"),
    "MY": ("gmail.com", "yahoo.com.my"),
    "ID": ("gmail.com", "yahoo.co.id"),
}


@dataclass(frozen=True)
class NamePool:
    """Parallel arrays over every name of every culture."""

    latin: np.ndarray
    native: np.ndarray
    ascii: np.ndarray
    nickname: np.ndarray  # "" where none
    variant: np.ndarray  # an alternative Latin spelling, "" where none
    gender: np.ndarray  # "m" / "f" ("" for family names)
    culture: np.ndarray

    def indices(self, culture: str, gender: str | None = None) -> np.ndarray:
        mask = self.culture == culture
        if gender is not None:
            mask &= self.gender == gender
        return np.flatnonzero(mask)


def to_ascii(text: str) -> str:
    """Fold a Latin name to ASCII for email local parts (ü -> ue as people really type it)."""
    for src, dst in (
        ("ä", "ae"),
        ("ö", "oe"),
        ("ü", "ue"),
        ("ß", "ss"),
        ("Ä", "Ae"),
        ("Ö", "Oe"),
        ("Ü", "Ue"),
        ("ł", "l"),
        ("Ł", "L"),
    ):
        text = text.replace(src, dst)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch in " -'"))


def _parse(table: dict[str, str], given: bool) -> NamePool:
    cols: dict[str, list[str]] = {
        k: [] for k in ("latin", "native", "ascii", "nickname", "variant", "gender", "culture")
    }
    for culture, text in table.items():
        # entries are separated by a space followed by an upper-case letter start
        for entry in _split_entries(text):
            parts = entry.split("/")
            latin, native = parts[0], parts[1] or parts[0]
            if given:
                gender, nickname, variant = parts[2], parts[3], parts[4]
            else:
                gender, nickname, variant = "", "", parts[2]
            cols["latin"].append(latin)
            cols["native"].append(native)
            cols["ascii"].append(to_ascii(latin).lower().replace(" ", ""))
            cols["nickname"].append(nickname)
            cols["variant"].append(variant.split("|")[0])
            cols["gender"].append(gender)
            cols["culture"].append(culture)
    return NamePool(**{k: np.array(v, dtype=object) for k, v in cols.items()})


def _split_entries(text: str) -> list[str]:
    """Entries are 'a/b/c' groups separated by spaces; a space inside a field (Xiu Ying) is kept
    because a field never starts a new entry without a '/' in it."""
    entries: list[str] = []
    for token in text.split(" "):
        if not token:
            continue
        if "/" in token or not entries:
            entries.append(token)
        else:
            entries[-1] += " " + token
    return entries


GIVEN_NAMES: NamePool = _parse(_GIVEN, given=True)
FAMILY_NAMES: NamePool = _parse(_FAMILY, given=False)
