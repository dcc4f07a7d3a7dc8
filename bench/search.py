"""Time catalog search on a generated 10,000-item catalog.

Generates a realistic catalog (service objects x actions x scopes, in Simplified, Traditional and
English, with aliases and guide text), applies it to a temporary store through
``kiosk.catalog.apply_bundle`` (which builds the search index, pinyin included), then runs 1,000
mixed queries (Chinese 1-6 characters, full pinyin with and without spaces, initials, English
prefixes, misses and odd input) through ``kiosk.search.search``.

Prints the time of the whole apply (catalog rows and search index), the store size, the first
query (which loads the index into memory), then p50 / p95 / max per query. The line before the
last is `catalog_apply_ms: <n>`, the last `search_p95_ms: <n>`.
Run from the repository root: `.venv/bin/python bench/search.py`.
bench/catalog_apply.py splits the apply time into its parts.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself: bench/queue.py would shadow the standard library's queue module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kiosk import search  # noqa: E402
from kiosk.catalog import apply_bundle  # noqa: E402
from kiosk.store import open_store  # noqa: E402

ITEMS = 10_000
QUERIES = 1_000
WARMUP = 50
SEED = 20261104

DEPARTMENTS = [
    ("SCJ", "市场监督管理局", "市場監督管理局", "Market Regulation Bureau"),
    ("RSJ", "人力资源和社会保障局", "人力資源和社會保障局", "Human Resources and Social Security Bureau"),
    ("GAJ", "公安局", "公安局", "Public Security Bureau"),
    ("ZJJ", "住房和城乡建设局", "住房和城鄉建設局", "Housing and Urban-Rural Development Bureau"),
    ("WJW", "卫生健康委员会", "衛生健康委員會", "Health Commission"),
    ("JTJ", "交通运输局", "交通運輸局", "Transport Bureau"),
    ("MZJ", "民政局", "民政局", "Civil Affairs Bureau"),
    ("SWJ", "税务局", "稅務局", "Tax Bureau"),
    ("ZRJ", "自然资源局", "自然資源局", "Natural Resources Bureau"),
    ("HBJ", "生态环境局", "生態環境局", "Ecology and Environment Bureau"),
    ("JYJ", "教育局", "教育局", "Education Bureau"),
    ("WLJ", "文化和旅游局", "文化和旅遊局", "Culture and Tourism Bureau"),
    ("YJJ", "应急管理局", "應急管理局", "Emergency Management Bureau"),
    ("YBJ", "医疗保障局", "醫療保障局", "Healthcare Security Bureau"),
    ("GJJ", "住房公积金管理中心", "住房公積金管理中心", "Housing Provident Fund Centre"),
    ("NYJ", "农业农村局", "農業農村局", "Agriculture and Rural Affairs Bureau"),
]

# (department, Simplified, Traditional, English, everyday aliases in Simplified)
OBJECTS = [
    ("SCJ", "营业执照", "營業執照", "business licence", ["执照", "营业证"]),
    ("SCJ", "食品经营许可证", "食品經營許可證", "food business licence", ["食品证", "开饭店"]),
    ("SCJ", "药品经营许可证", "藥品經營許可證", "drug business licence", ["药店", "开药店"]),
    ("SCJ", "特种设备（电梯）使用登记", "特種設備（電梯）使用登記", "special equipment (lift) use",
     ["电梯", "电梯登记"]),
    ("SCJ", "工业产品生产许可证", "工業產品生產許可證", "industrial product production licence", ["生产许可"]),
    ("SCJ", "计量器具型式批准", "計量器具型式批准", "measuring instrument type approval", ["计量"]),
    ("SCJ", "广告发布登记", "廣告發布登記", "advertising publication", ["广告"]),
    ("RSJ", "社会保险登记", "社會保險登記", "social insurance registration", ["社保", "五险"]),
    ("RSJ", "失业保险金", "失業保險金", "unemployment benefit", ["失业金", "失业补助"]),
    ("RSJ", "职业技能等级证书", "職業技能等級證書", "vocational skill certificate", ["技能证"]),
    ("RSJ", "劳动合同备案", "勞動合同備案", "labour contract", ["劳动合同"]),
    ("RSJ", "退休待遇", "退休待遇", "retirement benefits", ["养老金", "退休金"]),
    ("GAJ", "普通护照", "普通護照", "ordinary passport", ["护照", "出国"]),
    ("GAJ", "居民身份证", "居民身份證", "resident identity card", ["身份证", "办身份证"]),
    ("GAJ", "户口迁移", "戶口遷移", "household registration transfer", ["户口", "迁户口"]),
    ("GAJ", "港澳通行证", "港澳通行證", "Hong Kong and Macao travel permit", ["通行证", "去香港"]),
    ("GAJ", "机动车驾驶证", "機動車駕駛證", "motor vehicle driving licence", ["驾照", "驾驶证"]),
    ("GAJ", "居住证", "居住證", "residence permit", ["暂住证"]),
    ("ZJJ", "建设工程规划许可证", "建設工程規劃許可證", "construction project planning permit", ["规划证"]),
    ("ZJJ", "建筑工程施工许可证", "建築工程施工許可證", "construction permit", ["施工证", "开工"]),
    ("ZJJ", "商品房预售许可证", "商品房預售許可證", "pre-sale permit for commercial housing", ["预售证"]),
    ("ZJJ", "建筑业企业资质", "建築業企業資質", "construction enterprise qualification", ["资质"]),
    ("WJW", "医师执业证书", "醫師執業證書", "physician practising certificate", ["医师证"]),
    ("WJW", "出生医学证明", "出生醫學證明", "medical birth certificate", ["出生证", "准生证"]),
    ("WJW", "公共场所卫生许可证", "公共場所衛生許可證", "public place hygiene licence", ["卫生许可"]),
    ("WJW", "母婴保健技术服务许可", "母嬰保健技術服務許可", "maternal and infant health service licence",
     ["母婴"]),
    ("JTJ", "道路运输经营许可证", "道路運輸經營許可證", "road transport business licence", ["运输证"]),
    ("JTJ", "出租汽车驾驶员从业资格证", "出租汽車駕駛員從業資格證", "taxi driver qualification",
     ["出租车", "的士"]),
    ("JTJ", "网约车运输证", "網約車運輸證", "ride-hailing vehicle permit", ["网约车", "滴滴"]),
    ("MZJ", "婚姻登记", "婚姻登記", "marriage registration", ["结婚", "领证"]),
    ("MZJ", "最低生活保障", "最低生活保障", "minimum living allowance", ["低保"]),
    ("MZJ", "社会团体登记", "社會團體登記", "social organisation registration", ["社团"]),
    ("MZJ", "残疾人两项补贴", "殘疾人兩項補貼", "disability allowances", ["残补"]),
    ("SWJ", "增值税发票", "增值稅發票", "VAT invoice", ["发票", "开票"]),
    ("SWJ", "个人所得税汇算", "個人所得稅匯算", "individual income tax settlement", ["个税", "退税"]),
    ("SWJ", "纳税证明", "納稅證明", "tax payment certificate", ["完税证明"]),
    ("ZRJ", "不动产登记", "不動產登記", "real estate registration", ["房产证", "过户"]),
    ("ZRJ", "建设用地规划许可证", "建設用地規劃許可證", "land use planning permit", ["用地"]),
    ("HBJ", "排污许可证", "排污許可證", "pollutant discharge permit", ["排污"]),
    ("HBJ", "建设项目环境影响评价", "建設項目環境影響評價", "environmental impact assessment", ["环评"]),
    ("JYJ", "教师资格证", "教師資格證", "teacher qualification", ["教资"]),
    ("JYJ", "民办学校办学许可证", "民辦學校辦學許可證", "private school licence", ["办学"]),
    ("WLJ", "营业性演出许可证", "營業性演出許可證", "commercial performance licence", ["演出"]),
    ("WLJ", "旅行社业务经营许可", "旅行社業務經營許可", "travel agency licence", ["旅行社"]),
    ("YJJ", "危险化学品经营许可证", "危險化學品經營許可證", "hazardous chemicals business licence",
     ["危化品"]),
    ("YJJ", "安全生产许可证", "安全生產許可證", "work safety licence", ["安全证"]),
    ("YBJ", "医疗保险参保登记", "醫療保險參保登記", "medical insurance enrolment", ["医保", "医保卡"]),
    ("YBJ", "异地就医备案", "異地就醫備案", "medical treatment elsewhere", ["异地就医", "外地看病"]),
    ("GJJ", "住房公积金提取", "住房公積金提取", "housing provident fund withdrawal", ["公积金", "取公积金"]),
    ("GJJ", "住房公积金贷款", "住房公積金貸款", "housing provident fund loan", ["公积金贷款", "房贷"]),
    ("NYJ", "农药经营许可证", "農藥經營許可證", "pesticide business licence", ["农药"]),
    ("NYJ", "动物防疫条件合格证", "動物防疫條件合格證", "animal epidemic prevention certificate",
     ["防疫证"]),
]

# (kind, Simplified, Traditional, English, aliases)
ACTIONS = [
    ("licence", "核发", "核發", "new issue", ["办理", "申请"]),
    ("licence", "变更", "變更", "change", ["改信息"]),
    ("licence", "延续", "延續", "renewal", ["续期", "到期"]),
    ("licence", "注销", "註銷", "cancellation", ["不用了"]),
    ("licence", "遗失补领", "遺失補領", "replacement after loss", ["丢了", "补办"]),
    ("licence", "换领", "換領", "exchange", ["换证"]),
    ("filing", "备案", "備案", "filing", []),
    ("filing", "年度报告", "年度報告", "annual report", ["年报"]),
    ("public_service", "信息查询", "信息查詢", "information enquiry", ["查询", "查一下"]),
    ("public_service", "证明开具", "證明開具", "certificate issue", ["开证明"]),
    ("confirmation", "首次申请", "首次申請", "first application", ["第一次"]),
    ("confirmation", "资格认定", "資格認定", "eligibility confirmation", []),
    ("inspection", "监督检查", "監督檢查", "inspection", ["检查"]),
    ("complaint", "投诉举报", "投訴舉報", "complaints", ["投诉", "举报"]),
    ("other", "咨询", "諮詢", "consultation", ["问一下"]),
    ("other", "预约", "預約", "appointment", ["排号"]),
]

SCOPES = [
    ("", "", ""),
    ("（个体工商户）", "（個體工商戶）", " (individual business)"),
    ("（企业）", "（企業）", " (enterprise)"),
    ("（分支机构）", "（分支機構）", " (branch)"),
    ("（跨省通办）", "（跨省通辦）", " (inter-provincial)"),
    ("（网上办理）", "（網上辦理）", " (online)"),
    ("（港澳台居民）", "（港澳臺居民）", " (Hong Kong, Macao and Taiwan residents)"),
    ("（外国人）", "（外國人）", " (foreign nationals)"),
    ("（老年人）", "（老年人）", " (senior citizens)"),
    ("（残疾人）", "（殘疾人）", " (persons with disabilities)"),
    ("（市级）", "（市級）", " (city level)"),
    ("（区级）", "（區級）", " (district level)"),
    ("（加急）", "（加急）", " (express)"),
]

KIND_CODES = {"licence": "XK", "confirmation": "QR", "filing": "BA", "inspection": "JC",
              "public_service": "GG", "complaint": "TS", "other": "QT"}

MATERIALS = [
    ("申请人身份证原件", "申請人身份證原件", "applicant's identity card"),
    ("申请表（加盖公章）", "申請表（加蓋公章）", "application form (stamped)"),
    ("授权委托书", "授權委託書", "power of attorney"),
    ("营业执照副本复印件", "營業執照副本複印件", "copy of the business licence"),
    ("近期免冠照片两张", "近期免冠照片兩張", "two recent photos"),
    ("户口簿", "戶口簿", "household register"),
    ("场所使用证明", "場所使用證明", "proof of premises"),
    ("专业技术人员资格证书", "專業技術人員資格證書", "staff qualification certificates"),
    ("遗失声明", "遺失聲明", "loss declaration"),
    ("法定代表人签字的承诺书", "法定代表人簽字的承諾書", "undertaking signed by the legal representative"),
]
CONDITIONS = [
    "申请人具有完全民事行为能力",
    "申请事项符合国家产业政策和本市有关规定",
    "有与经营规模相适应的场所、设备和专业技术人员",
    "原证件在有效期内且未被吊销",
    "近三年内无重大违法违规记录",
    "材料齐全、符合法定形式",
]
STEPS = [
    ("网上申请或窗口提交材料", "網上申請或窗口提交材料", "apply online or at the counter",
     "通过政务服务网或自助终端填写申请表并上传材料"),
    ("受理", "受理", "acceptance", "窗口工作人员当场审核材料，材料齐全的予以受理"),
    ("审查", "審查", "review", "承办人员对申请材料进行审查，必要时进行现场核查"),
    ("决定", "決定", "decision", "作出准予或不予许可的决定，并告知申请人"),
    ("领取结果", "領取結果", "collect the result", "可选择窗口领取或免费邮寄送达"),
]
FAQS = [
    ("可以委托他人办理吗？", "可以，受托人需携带授权委托书和本人身份证。"),
    ("办理需要多长时间？", "材料齐全的，承诺在规定时限内办结。"),
    ("可以网上办理吗？", "可以通过政务服务网全程网办，无需到现场。"),
    ("证件丢了怎么办？", "先在国家企业信用信息公示系统发布遗失声明，再申请补领。"),
    ("外地户籍可以办理吗？", "可以，实行跨省通办，持居住证即可。"),
]
LAWS = [
    "《中华人民共和国行政许可法》",
    "《中华人民共和国市场主体登记管理条例》",
    "《中华人民共和国社会保险法》",
    "《中华人民共和国护照法》",
    "《优化营商环境条例》",
    "《特种设备安全法》第三十三条",
]


def t(hans: str, hant: str | None = None, en: str | None = None) -> dict:
    text = {"zh-Hans": hans}
    if hant:
        text["zh-Hant"] = hant
    if en:
        text["en"] = en
    return text


def make_bundle(n: int = ITEMS, seed: int = SEED) -> dict:
    rng = random.Random(seed)
    combos = [(o, a, s) for o in OBJECTS for a in ACTIONS for s in SCOPES]
    rng.shuffle(combos)
    combos = combos[:n]
    counters: dict[str, int] = {}
    items = []
    for (dept, o_hans, o_hant, o_en, o_alias), (kind, a_hans, a_hant, a_en, a_alias), scope in combos:
        s_hans, s_hant, s_en = scope
        prefix = f"{dept}-{KIND_CODES[kind]}"
        counters[prefix] = counters.get(prefix, 0) + 1
        code = f"{prefix}-{counters[prefix]:03d}"
        assert counters[prefix] <= 999, prefix
        name_hans = f"{o_hans}{a_hans}{s_hans}"
        name_hant = f"{o_hant}{a_hant}{s_hant}"
        name_en = f"{o_en[0].upper()}{o_en[1:]}: {a_en}{s_en}"
        aliases = list(o_alias) + [f"{o_alias[0]}{x}" for x in a_alias[:1]]
        mats = rng.sample(MATERIALS, rng.randint(3, 5))
        steps = STEPS[: rng.randint(3, 5)]
        faqs = rng.sample(FAQS, 2)
        legal = rng.randint(1, 60)
        items.append({
            "code": code,
            "department": dept,
            "queue_category": "ABCDEFGH"[len(items) % 8],
            "kind": kind,
            "online_level": rng.randint(1, 4),
            "name": t(name_hans, name_hant, name_en),
            "aliases": {"zh-Hans": aliases, **({"en": [o_en.split()[0]]} if rng.random() < 0.3 else {})},
            "summary": t(f"为申请人办理{o_hans}{a_hans}手续{s_hans}，符合条件的当场或限时办结。",
                         f"為申請人辦理{o_hant}{a_hant}手續{s_hant}。",
                         f"{o_en[0].upper()}{o_en[1:]}: {a_en}{s_en}."),
            "guide": {
                "legal_basis": [t(x) for x in rng.sample(LAWS, rng.randint(1, 2))],
                "conditions": [t(x) for x in rng.sample(CONDITIONS, rng.randint(2, 4))],
                "materials": [{"name": t(*m), "required": i < 2, "form": "original", "copies": 1}
                              for i, m in enumerate(mats)],
                "steps": [{"title": t(a, b, c), "detail": t(d)} for a, b, c, d in steps],
                "time_limit": {"legal_days": legal, "committed_days": max(0, legal // 2)},
                "fees": {"charged": False},
                "place": t("市民中心二楼综合窗口", "市民中心二樓綜合窗口", "Citizen Centre, 2nd floor"),
                "hours": t("工作日 9:00-17:00", "工作日 9:00-17:00", "Weekdays 9:00-17:00"),
                "phone": "0571-12345",
                "faq": [{"q": t(q), "a": t(a)} for q, a in faqs],
            },
        })
    return {
        "format": 1,
        "version": 1,
        "published": "2026-11-01",
        "departments": [{"code": c, "name": t(a, b, e)} for c, a, b, e in DEPARTMENTS],
        "items": items,
    }


def make_queries(bundle: dict, n: int = QUERIES, seed: int = SEED + 1) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    rng = random.Random(seed)
    names = [i["name"] for i in bundle["items"]]
    common = ["社保", "执照", "护照", "电梯", "药店", "营业执照", "身份证", "公积金", "遗失补领", "医保",
              "驾照", "低保", "户口", "发票", "照", "证", "營業執照", "護照", "社會保險"]
    misses = ["火星签证", "qqxz", "zzzzzz", "量子纠缠登记", "xyzzy", "🙂", "!!!", "   ", "",
              "'; DROP TABLE items; --", '"', "NEAR(", "a AND OR b", "*", "x" * 500]
    queries = []
    for _ in range(n):
        kind = rng.random()
        name = rng.choice(names)
        hans = name["zh-Hans"].split("（")[0]
        if kind < 0.35:  # Chinese substring, 2-6 characters
            size = rng.randint(2, min(6, len(hans)))
            start = rng.randint(0, len(hans) - size)
            queries.append(hans[start:start + size] if rng.random() < 0.7 else rng.choice(common))
        elif kind < 0.50:  # full pinyin, with or without spaces
            size = rng.randint(2, min(6, len(hans)))
            start = rng.randint(0, len(hans) - size)
            sylls = lazy_pinyin(hans[start:start + size])
            queries.append(" ".join(sylls) if rng.random() < 0.3 else "".join(sylls))
        elif kind < 0.65:  # initials
            size = rng.randint(2, min(6, len(hans)))
            queries.append("".join(lazy_pinyin(hans[:size], style=Style.FIRST_LETTER)))
        elif kind < 0.80:  # English word or prefix
            words = [w for w in name["en"].replace(":", " ").replace("(", " ").split() if len(w) > 2]
            word = rng.choice(words)
            queries.append(word[: rng.randint(3, len(word))] if rng.random() < 0.6 else word.lower())
        elif kind < 0.88:  # Traditional
            hant = name["zh-Hant"].split("（")[0]
            size = rng.randint(2, min(6, len(hant)))
            queries.append(hant[:size])
        else:  # misses and odd input
            queries.append(rng.choice(misses))
    return queries


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def main() -> None:
    bundle = make_bundle()
    queries = make_queries(bundle)  # imports pypinyin, so its import is not in the apply time
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kiosk.db"
        db = open_store(path)
        t0 = time.perf_counter()
        apply_bundle(db, bundle, source="bench", validate=False)
        apply_ms = (time.perf_counter() - t0) * 1000
        size_mb = path.stat().st_size / 1e6
        index_mb = db.execute("SELECT sum(length(CAST(data AS BLOB))) FROM search_index").fetchone()[0] / 1e6
        t1 = time.perf_counter()
        search.search(db, queries[0])  # the first query loads the index into memory
        first_ms = (time.perf_counter() - t1) * 1000
        for q in queries[:WARMUP]:  # warm the page cache and the statement cache
            search.search(db, q)
        times = []
        empty = 0
        for q in queries:
            t1 = time.perf_counter()
            hits = search.search(db, q)
            times.append((time.perf_counter() - t1) * 1000)
            empty += not hits
        slowest = sorted(zip(times, queries, strict=True), reverse=True)[:5]
        db.conn.close()
    print(f"catalog: {len(bundle['items'])} items; store after apply: {size_mb:.1f} MB "
          f"(search index {index_mb:.1f} MB)")
    print(f"first query, loading the index: {first_ms:.0f} ms")
    print(f"queries: {len(queries)} ({empty} with no hits), limit 50, lang zh-Hans")
    print(f"search_p50_ms: {statistics.median(times):.2f}")
    print(f"search_max_ms: {max(times):.2f}")
    print("slowest: " + ", ".join(f"{q[:20]!r} {ms:.1f} ms" for ms, q in slowest))
    print(f"catalog_apply_ms: {apply_ms:.0f}")
    print(f"search_p95_ms: {percentile(times, 95):.2f}")


if __name__ == "__main__":
    main()
