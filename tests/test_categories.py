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


@pytest.mark.parametrize(("url", "expected"), STARTER)
def test_starter_rules(url: str, expected: str) -> None:
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
    assert {rule.category for rule in conf.rules} == set(CATEGORIES) - {"other"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"fallback": "misc"}, r"^categories\.fallback: unknown category 'misc'"),
        ({"classifier_model": "m.bin"}, r"^categories\.classifier_model: the classifier hook is not implemented"),
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
