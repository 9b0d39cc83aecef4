"""Unicode ranges of the CJK scripts, as regex character-class bodies (``f"[{HAN}]"``), shared by the text rules.

Han: CJK Unified Ideographs, Extension A and the Compatibility Ideographs (the BMP blocks web text uses). Kana:
Hiragana, Katakana and the Katakana phonetic extensions: their presence is what tells Japanese from Chinese.
"""

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KANA = "\u3040-\u30ff\u31f0-\u31ff"
CJK = HAN + KANA
