"""Who the demo patients are: record numbers, names, birth and diagnosis dates."""
import datetime as dt

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余"
            "杜叶程苏魏吕丁沈任姚卢姜崔钟谭陆汪范金石廖贾夏")
GIVEN_NAME_CHARS = ("子浩宇轩涵梓一欣怡晨思雨博文佳俊嘉明睿诗琪泽铭悦可然昊瑞妍辰安宁乐彤萱皓航奕凯依"
                    "语天若沐馨梦诺锦程恩佑煜")

# Days from diagnosis to the first infusion, by indication: relapses come years after diagnosis, induction
# failures weeks after, MRD positivity and chemotherapy delays during frontline therapy.
DIAGNOSIS_LAG_DAYS = {
    "relapse": (300, 1500),
    "induction_failure": (35, 80),
    "mrd_positive": (60, 420),
    "chemo_delay": (60, 720),
}
CCCG_2020_START = dt.date(2020, 7, 1)


def chinese_name(rng) -> str:
    given_length = 1 + int(rng.random() < 0.7)
    chars = [GIVEN_NAME_CHARS[i] for i in rng.integers(0, len(GIVEN_NAME_CHARS), given_length)]
    return SURNAMES[rng.integers(0, len(SURNAMES))] + "".join(chars)


def medical_record_number(center_id: str, diagnosis_year: int, rng) -> str:
    """A record number in the center's own format."""
    if center_id == "sch":
        return f"SCH{diagnosis_year}{rng.integers(1, 10_000):04d}"
    if center_id == "scmc":
        return str(rng.integers(10_000_000, 100_000_000))
    if center_id == "ach":
        return f"AH-{rng.integers(100_000, 1_000_000)}"
    if center_id == "sph":
        return f"SD{rng.integers(10_000_000, 100_000_000)}"
    raise ValueError(f"unknown center {center_id}")


def completed_months(birth: dt.date, on: dt.date) -> int:
    """Completed months of age, as DuckDB's date_sub('month', birth, on) counts them (birth day <= 28)."""
    return (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)


def birth_date(first_infusion: dt.date, age_months: int, rng, first_of_month: bool = False) -> dt.date:
    """A birth date (day <= 28, so month ends never matter) at exactly `age_months` completed months on
    `first_infusion`: in the month `age_months` earlier on a day up to the infusion's, or in the month before
    on a later day. `first_of_month` takes the earliest such day, to leave the most room before the next month."""
    year, month = divmod(first_infusion.year * 12 + first_infusion.month - 1 - age_months, 12)
    month += 1
    same_month = [dt.date(year, month, d) for d in range(1, min(first_infusion.day, 28) + 1)]
    if first_of_month:
        return same_month[0]
    prev_year, prev_month = (year, month - 1) if month > 1 else (year - 1, 12)
    month_before = [dt.date(prev_year, prev_month, d) for d in range(first_infusion.day + 1, 29)]
    candidates = month_before + same_month
    return candidates[rng.integers(0, len(candidates))]


def diagnosis_date(first_infusion: dt.date, birth: dt.date, indication: str, rng) -> dt.date:
    low, high = DIAGNOSIS_LAG_DAYS[indication]
    lag = int(rng.integers(low, high + 1))
    lag = min(lag, (first_infusion - birth).days - 21)  # infants: diagnosed a few weeks after birth at the latest
    return first_infusion - dt.timedelta(days=lag)


def frontline_protocol(diagnosed: dt.date) -> str:
    return "CCCG-ALL-2020" if diagnosed >= CCCG_2020_START else "CCCG-ALL-2015"
