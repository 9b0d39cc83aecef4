"""Source categories from URL rules: the starter list, rule order, languages, and conf validation."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from udfs.categories import CATEGORIES, CategoriesConfig, CategoryRule, categorize, category_of
from udfs.errors import ConfigError

STARTER = [
    ("https://zh.wikipedia.org/wiki/北京", "encyclopedia"),
    ("https://en.m.wikipedia.org/wiki/Beijing", "encyclopedia"),
    ("https://baike.baidu.com/item/长城/14251", "encyclopedia"),
    ("https://www.britannica.com/place/China", "encyclopedia"),
    ("https://www.bbc.co.uk/news/world-asia-1", "news"),
    ("https://www.xinhuanet.com/politics/2023-10/01/c_1.htm", "news"),
    ("http://world.people.com.cn/n1/2023/1001/c1002-1.html", "news"),
    ("https://news.sina.com.cn/c/2023-10-01/doc-1.shtml", "news"),
    ("https://www.zhihu.com/question/12345/answer/678", "qa"),
    ("https://zhidao.baidu.com/question/123.html", "qa"),
    ("https://stackoverflow.com/questions/1/how", "qa"),
    ("https://math.stackexchange.com/questions/2", "qa"),
    ("https://wenshu.court.gov.cn/website/wenshu/181107ANFZ0BXSK4/index.html", "legal"),
    ("https://www.bjcourt.gov.cn/cpws/paperView.htm?id=1", "legal"),
    ("https://www.law.cornell.edu/uscode/text/17/107", "legal"),
    ("https://patents.google.com/patent/CN1234567A/zh", "patents"),
    ("http://pss-system.cnipa.gov.cn/sipopublicsearch/", "patents"),
    ("https://arxiv.org/abs/2101.00027", "academic"),
    ("https://kns.cnki.net/kcms/detail/detail.aspx?dbcode=CJFD", "academic"),
    ("https://pubmed.ncbi.nlm.nih.gov/123456/", "academic"),
    ("https://www.cs.tsinghua.edu.cn/info/1.htm", "academic"),
    ("https://github.com/huggingface/datatrove", "code"),
    ("https://gitee.com/mindspore/mindspore", "code"),
    ("https://blog.csdn.net/user/article/details/1", "blogs"),
    ("https://www.cnblogs.com/user/p/1.html", "blogs"),
    ("https://medium.com/@someone/a-post-1", "blogs"),
    ("https://someone.github.io/2023/10/01/post.html", "blogs"),
    ("https://zhuanlan.zhihu.com/p/123", "blogs"),
    ("https://book.qidian.com/info/1", "fiction"),
    ("https://www.jjwxc.net/onebook.php?novelid=1", "fiction"),
    ("https://archiveofourown.org/works/1", "fiction"),
    ("https://www.gutenberg.org/ebooks/1342", "fiction"),
    ("https://so.gushiwen.cn/shiwenv_1.aspx", "poetry"),
    ("https://www.poetryfoundation.org/poems/1/x", "poetry"),
    ("https://www.reddit.com/r/China/comments/1/", "forum"),
    ("https://tieba.baidu.com/p/123", "forum"),
    ("https://www.douban.com/group/topic/1/", "forum"),
    ("https://bbs.example.cn/thread-1-1-1.html", "forum"),
    ("https://example.com/forum/viewtopic.php?t=1", "forum"),
    ("https://www.example.com/", "other"),
    ("https://www.baidu.com/s?wd=x", "other"),
]
# URL shapes beyond the domain lists (conf/categories.yaml sections 3-5): host prefixes, path segments, category words
# in the host, academic second-level domains, and the exceptions that stop them.
SHAPES = [
    ("https://bbs.example.cn/forum.php?mod=viewthread&tid=1", "forum"),
    ("https://tieba.example.cn/p/1", "forum"),
    ("https://www.example.com/forums/topic/1", "forum"),
    ("https://www.example.com/threads/some-title.12345/", "forum"),
    ("https://www.example.com/discussion/1", "forum"),
    ("https://www.hondaforum.example/x/1", "forum"),
    ("https://zhidao.example.cn/question/1.html", "qa"),
    ("https://www.example.cn/wenda/123.html", "qa"),
    ("https://ask.example.com/q/what", "qa"),
    ("https://baike.example.cn/item/x", "encyclopedia"),
    ("https://wiki.archlinux.org/title/Installation_guide", "encyclopedia"),
    ("https://www.example.org/wiki/Page", "encyclopedia"),
    ("https://www.example.com/patent/US1234567B2/en", "patents"),
    ("https://www.lawfirm.example/patents/services/", "other"),
    ("https://www.sec.gov/rules/regulations/x.htm", "legal"),
    ("https://www.miit.gov.cn/zwgk/zcfg/art/2023/1.html", "legal"),
    ("https://www.example.org/doi/full/10.1080/123.2023.1", "academic"),
    ("https://mirror.example.org/abs/2101.00027", "academic"),
    ("https://www.example.org/journals/biology/1", "academic"),
    ("https://www.squarespace-site.example/journal/2023/my-trip", "other"),
    ("https://dspace.example.org/handle/1/2", "academic"),
    ("https://www.example.cn/lunwen/123.html", "academic"),
    ("https://news.example.org/2023/x", "news"),
    ("https://www.example.com/news/2023/10/01/x", "news"),
    ("https://www.beijing.gov.cn/ywdt/gzdt/202310/t1.html", "news"),
    ("https://www.dailynews.example/x", "news"),
    ("https://blog.example.com/post/1", "blogs"),
    ("https://www.example.com/blog/my-post/", "blogs"),
    ("https://www.techblog.example/x", "blogs"),
    ("https://docs.python.org/3/library/re.html", "code"),
    ("https://developer.mozilla.org/en-US/docs/Web/HTML", "code"),
    ("https://git.example.org/project/tree/main/src/", "code"),
    ("https://www.example.com/docs/getting-started", "code"),
    ("https://docs.google.com/document/d/1/edit", "other"),
    ("https://www.ox.ac.uk/admissions", "academic"),
    ("https://www.iitb.ac.in/en/about", "academic"),
    ("https://www.unam.edu.mx/x", "academic"),
    ("https://www.pku.edu.cn/news/1.htm", "news"),  # a university's /news/ stays news
    ("https://www.stats.gov.cn/sj/", "other"),  # a bare .gov.cn names no category
    ("https://www.usa.gov/benefits", "other"),
    ("https://www.example.com/product/paperback-notebook", "other"),
]


@pytest.mark.parametrize(("url", "expected"), STARTER)
def test_starter_rules(url: str, expected: str) -> None:
    assert category_of(url) == expected


def test_every_live_page_of_the_sample_wet_files() -> None:
    """The real sample pages: each live record's category from its URL and domain as the reader gives them."""
    from tests.conftest import FIXTURES
    from udfs.warc import read_wet

    table = FIXTURES / "categories" / "sample_pages.tsv"
    expected = [tuple(line.split("\t")) for line in table.read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#")]
    found, seen = [], set()
    for path in sorted({FIXTURES / name for name, _, _ in expected}):
        with path.open("rb") as handle:
            for doc in read_wet(handle, str(path)):
                key = (f"{path.parent.name}/{path.name}", doc.url)
                if doc.url and doc.reason is None and key not in seen:
                    seen.add(key)
                    found.append((*key, category_of(doc.url, doc.domain)))
    assert found == expected
    assert len(found) == 89 and sum(category != "other" for _, _, category in found) == 24


@pytest.mark.parametrize(("url", "expected"), SHAPES)
def test_url_shape_rules(url: str, expected: str) -> None:
    assert category_of(url) == expected


def test_subdomain_matching_needs_a_dot_boundary() -> None:
    assert category_of("https://notbritannica.com/x") == "other"
    assert category_of("https://britannica.com.example.net/x") == "other"
    assert category_of("https://kids.britannica.com/x") == "encyclopedia"


def test_first_matching_rule_wins_in_conf_order() -> None:
    news_first = CategoriesConfig(
        rules=(CategoryRule("news", domains=("sina.com.cn",)), CategoryRule("blogs", domains=("blog.sina.com.cn",)))
    )
    blogs_first = CategoriesConfig(rules=tuple(reversed(news_first.rules)))
    url = "https://blog.sina.com.cn/s/blog_1.html"
    assert category_of(url, conf=news_first) == "news"
    assert category_of(url, conf=blogs_first) == "blogs"


def test_language_condition_both_sides() -> None:
    url = "https://m.example-xiaoshuo.com/12/34.html"
    assert category_of(url, lang="zh") == "fiction"
    assert category_of(url, lang="en") == "other"
    assert category_of(url, lang=None) == "other"


def test_tld_and_url_pattern_matchers() -> None:
    conf = CategoriesConfig(
        rules=(CategoryRule("academic", tlds=("edu", "ac.uk")), CategoryRule("code", url_patterns=("/src/",))),
        fallback="other",
    )
    urls = pd.Series(["https://cs.mit.edu/a", "https://ox.ac.uk/b", "https://uk.com/c", "https://X.org/SRC/d", None])
    domains = pd.Series(["cs.mit.edu", "ox.ac.uk", "uk.com", "X.ORG", None])
    assert categorize(domains, urls, None, conf).tolist() == ["academic", "academic", "other", "code", "other"]


def test_disabled_gives_fallback() -> None:
    conf = CategoriesConfig(enabled=False)
    assert category_of("https://github.com/a/b", conf=conf) == "other"


def test_conf_file_is_the_starter_list_and_names_are_known() -> None:
    with open("conf/categories.yaml", encoding="utf-8") as handle:
        conf = CategoriesConfig.from_dict(yaml.safe_load(handle)["categories"], "categories")
    assert conf == CategoriesConfig()
    assert len(conf.rules) >= 20
    # Every category has rules; `other` rules are the exceptions that stop the generic shapes.
    assert {rule.category for rule in conf.rules} == set(CATEGORIES)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"fallback": "misc"}, r"^categories\.fallback: unknown category 'misc'"),
        ({"classifier_model": ""}, r"^categories\.classifier_model: empty path"),
        ({"classifier_min_score": 1.5}, r"^categories\.classifier_min_score: must be within"),
        ({"classifier_max_chars": 10}, r"^categories\.classifier_max_chars: must be >= 100"),
        ({"classifier_min_scores": {"other": 0.9}}, r"^categories\.classifier_min_scores\.other: not a category"),
        ({"classifier_min_scores": {"news": 1.5}}, r"^categories\.classifier_min_scores\.news: must be within"),
        ({"rules": [{"category": "wiki", "domains": ["a.org"]}]}, r"^categories\.rules\[0\]\.category: unknown"),
        ({"rules": [{"category": "news"}]}, r"^categories\.rules\[0\]: needs at least one"),
        ({"rules": [{"category": "news", "domains": ["https://a.org/"]}]}, r"^categories\.rules\[0\]: 'https"),
        ({"rules": [{"category": "news", "url_patterns": ["(?<!x)/n/"]}]}, r"^categories\.rules\[0\]\.url_patt"),
        ({"rules": [{"category": "news", "url_patterns": ["(?i)/n/"]}]}, r"^categories\.rules\[0\]\.url_patt"),
        ({"rules": [{"category": "news", "domain": ["a.org"]}]}, r"^categories\.rules\[0\]\.domain: unknown key"),
    ],
)
def test_conf_errors_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CategoriesConfig.from_dict(data, "categories")


def test_spark_rules_equal_the_arrow_reference_on_url_shapes(spark) -> None:  # type: ignore[no-untyped-def]
    """The Java regexes of the stage's column expression decide exactly as RE2 does on every shape case."""
    from jobs.stages.tokens import category_column
    from udfs.warc import domain_of

    rows = [(url, domain_of(url), lang) for url, _ in SHAPES + STARTER for lang in ("zh", None)]
    frame = spark.createDataFrame(rows, "url string, domain string, lang string")
    conf = CategoriesConfig()
    spark_categories = [r["category"] for r in frame.select(category_column(conf).alias("category")).collect()]
    local = pd.DataFrame(rows, columns=["url", "domain", "lang"])
    assert spark_categories == categorize(local["domain"], local["url"], local["lang"], conf).tolist()
    assert spark_categories[1::2] == [category for _, category in SHAPES + STARTER]
