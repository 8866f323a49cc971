//! Tone sandhi: misaki's `ToneSandhi` (from PaddleSpeech, Apache-2.0), ported rule for rule —
//! the re-merging of jieba's words (不 and 一 with the next word, reduplications, third-tone
//! pairs, 儿) and the tone changes inside a word (不 before a fourth tone, 一 before
//! fourth/other tones, neutral tones of particles, suffixes and a list of words, and chains of
//! third tones).
//!
//! Tones are numbers 1–5 (5 neutral); 0 stands for a word that is not Chinese (`x`/`eng`).

use jieba_rs::Jieba;

const BU: char = '不';
const YI: char = '一';

/// A word and its part of speech (jieba's tag).
pub type Seg = (Vec<char>, String);

fn x_eng(pos: &str) -> bool {
    pos == "x" || pos == "eng"
}

/// Python's `str.isnumeric()` for the characters that occur here: Unicode numbers plus the
/// Han characters with a numeric value.
pub fn is_numeric(c: char) -> bool {
    c.is_numeric()
        || "㐅㒃㠪㭍一七万三九二五亖亿什仟仨伍佰億兆兩八六十千卄卅卌叁参參叄四壱壹幺廾廿弌弍弎弐拾捌柒漆玖百肆萬貮貳贰阡陆陌陸零〇參拾兩零六陸什"
            .contains(c)
}

const MUST_NEUTRAL: &str = "麻烦 麻利 鸳鸯 高粱 骨头 骆驼 马虎 首饰 馒头 馄饨 风筝 难为 队伍 阔气 闺女 门道 锄头 铺盖 铃铛 铁匠 钥匙 里脊 里头 部分 那么 道士 造化 迷糊 连累 这么 这个 运气 过去 软和 转悠 踏实 跳蚤 跟头 趔趄 财主 豆腐 讲究 记性 记号 认识 规矩 见识 裁缝 补丁 衣裳 衣服 衙门 街坊 行李 行当 蛤蟆 蘑菇 薄荷 葫芦 葡萄 萝卜 荸荠 苗条 苗头 苍蝇 芝麻 舒服 舒坦 舌头 自在 膏药 脾气 脑袋 脊梁 能耐 胳膊 胭脂 胡萝 胡琴 胡同 聪明 耽误 耽搁 耷拉 耳朵 老爷 老实 老婆 戏弄 将军 翻腾 罗嗦 罐头 编辑 结实 红火 累赘 糨糊 糊涂 精神 粮食 簸箕 篱笆 算计 算盘 答应 笤帚 笑语 笑话 窟窿 窝囊 窗户 稳当 稀罕 称呼 秧歌 秀气 秀才 福气 祖宗 砚台 码头 石榴 石头 石匠 知识 眼睛 眯缝 眨巴 眉毛 相声 盘算 白净 痢疾 痛快 疟疾 疙瘩 疏忽 畜生 生意 甘蔗 琵琶 琢磨 琉璃 玻璃 玫瑰 玄乎 狐狸 状元 特务 牲口 牙碜 牌楼 爽快 爱人 热闹 烧饼 烟筒 烂糊 点心 炊帚 灯笼 火候 漂亮 滑溜 溜达 温和 清楚 消息 浪头 活泼 比方 正经 欺负 模糊 槟榔 棺材 棒槌 棉花 核桃 栅栏 柴火 架势 枕头 枇杷 机灵 本事 木头 木匠 朋友 月饼 月亮 暖和 明白 时候 新鲜 故事 收拾 收成 提防 挖苦 挑剔 指甲 指头 拾掇 拳头 拨弄 招牌 招呼 抬举 护士 折腾 扫帚 打量 打算 打扮 打听 打发 扎实 扁担 戒指 懒得 意识 意思 悟性 怪物 思量 怎么 念头 念叨 别人 快活 忙活 志气 心思 得罪 张罗 弟兄 开通 应酬 庄稼 干事 帮手 帐篷 希罕 师父 师傅 巴结 巴掌 差事 工夫 岁数 屁股 尾巴 少爷 小气 小伙 将就 对头 对付 寡妇 家伙 客气 实在 官司 学问 字号 嫁妆 媳妇 媒人 婆家 娘家 委屈 姑娘 姐夫 妯娌 妥当 妖精 奴才 女婿 头发 太阳 大爷 大方 大意 大夫 多少 多么 外甥 壮实 地道 地方 在乎 困难 嘴巴 嘱咐 嘟囔 嘀咕 喜欢 喇嘛 喇叭 商量 唾沫 哑巴 哈欠 哆嗦 咳嗽 和尚 告诉 告示 含糊 吓唬 后头 名字 名堂 合同 吆喝 叫唤 口袋 厚道 厉害 千斤 包袱 包涵 匀称 勤快 动静 动弹 功夫 力气 前头 刺猬 刺激 别扭 利落 利索 利害 分析 出息 凑合 凉快 冷战 冤枉 冒失 养活 关系 先生 兄弟 便宜 使唤 佩服 作坊 体面 位置 似的 伙计 休息 什么 人家 亲戚 亲家 交情 云彩 事情 买卖 主意 丫头 丧气 两口 东西 东家 世故 不由 下水 下巴 上头 上司 丈夫 丈人 一辈 那个 菩萨 父亲 母亲 咕噜 邋遢 费用 冤家 甜头 介绍 荒唐 大人 泥鳅 幸福 熟悉 计划 扑腾 蜡烛 姥爷 照顾 喉咙 吉他 弄堂 蚂蚱 凤凰 拖沓 寒碜 糟蹋 倒腾 报复 逻辑 盘缠 喽啰 牢骚 咖喱 扫把 惦记";

const MUST_NOT_NEUTRAL: &str = "男子 女子 分子 原子 量子 莲子 石子 瓜子 电子 人人 虎虎 幺幺 干嘛 学子 哈哈 数数 袅袅 局地 以下 娃哈哈 花花草草 留得 耕地 想想 熙熙 攘攘 卵子 死死 冉冉 恳恳 佼佼 吵吵 打打 考考 整整 莘莘 落地 算子 家家户户 青青";

const PUNC: &str = "、：，；。？！“”‘’':,;.?!";

/// The sandhi rules, with jieba for splitting words (`cut_for_search`).
pub struct ToneSandhi<'a> {
    jieba: &'a Jieba,
    must_neutral: std::collections::HashSet<&'static str>,
    must_not_neutral: std::collections::HashSet<&'static str>,
}

fn s(w: &[char]) -> String {
    w.iter().collect()
}

fn last2(w: &[char]) -> String {
    s(&w[w.len().saturating_sub(2)..])
}

fn all_three(t: &[u8]) -> bool {
    t.iter().all(|&x| x == 3)
}

impl<'a> ToneSandhi<'a> {
    /// The rules over `jieba`'s dictionary.
    pub fn new(jieba: &'a Jieba) -> Self {
        ToneSandhi {
            jieba,
            must_neutral: MUST_NEUTRAL.split(' ').collect(),
            must_not_neutral: MUST_NOT_NEUTRAL.split(' ').collect(),
        }
    }

    fn neutral_word(&self, w: &[char]) -> bool {
        self.must_neutral.contains(s(w).as_str()) || self.must_neutral.contains(last2(w).as_str())
    }

    /// `_split_word`: the word cut in two around its shortest `cut_for_search` piece.
    fn split_word(&self, word: &[char]) -> (usize, usize) {
        let text = s(word);
        let mut pieces = self.jieba.cut_for_search(&text, true);
        pieces.sort_by_key(|p| p.chars().count()); // stable, as Python's sorted
        let first = pieces.first().copied().unwrap_or(text.as_str());
        let first_len = first.chars().count();
        let begins_at_0 = text.find(first) == Some(0);
        if begins_at_0 {
            (first_len, word.len() - first_len)
        } else {
            (word.len() - first_len, first_len)
        }
    }

    fn neural_sandhi(&self, word: &[char], pos: &str, t: &mut [u8]) {
        if self.must_not_neutral.contains(s(word).as_str()) {
            return;
        }
        let p0 = pos.chars().next();
        for j in 1..word.len() {
            if word[j] == word[j - 1] && matches!(p0, Some('n' | 'v' | 'a')) {
                t[j] = 5;
            }
        }
        let n = word.len();
        let last = word[n - 1];
        let ge_idx = word.iter().position(|&c| c == '个');
        if "吧呢啊呐噻嘛吖嗨呐哦哒滴哩哟喽啰耶喔诶".contains(last) || "的地得".contains(last)
        {
            t[n - 1] = 5;
        } else if n == 1 && "了着过".contains(last) && matches!(pos, "ul" | "uz" | "ug") {
            t[n - 1] = 5;
        } else if n > 1 && "们子".contains(last) && matches!(pos, "r" | "n") {
            t[n - 1] = 5;
        } else if n > 1 && "上下".contains(last) && matches!(pos, "s" | "l" | "f") {
            t[n - 1] = 5;
        } else if n > 1 && "来去".contains(last) && "上下进出回过起开".contains(word[n - 2])
        {
            t[n - 1] = 5;
        } else if ge_idx.is_some_and(|g| {
            g >= 1 && (is_numeric(word[g - 1]) || "几有两半多各整每做是".contains(word[g - 1]))
        }) || (n == 1 && word[0] == '个')
        {
            let g = ge_idx.unwrap_or(0);
            t[g] = 5;
        } else if self.neutral_word(word) {
            t[n - 1] = 5;
        }
        let (a, b) = self.split_word(word);
        for (start, len) in [(0, a), (a, b)] {
            let part = &word[start..start + len];
            if len > 0 && self.neutral_word(part) {
                t[start + len - 1] = 5;
            }
        }
    }

    fn bu_sandhi(word: &[char], t: &mut [u8]) {
        if word.len() == 3 && word[1] == BU {
            t[1] = 5;
        } else {
            for i in 0..word.len() {
                if word[i] == BU && i + 1 < word.len() && t[i + 1] == 4 {
                    t[i] = 2;
                }
            }
        }
    }

    fn yi_sandhi(word: &[char], t: &mut [u8]) {
        if word.contains(&YI) && word.iter().filter(|&&c| c != YI).all(|&c| is_numeric(c)) {
            return;
        }
        let n = word.len();
        if n == 3 && word[1] == YI && word[0] == word[n - 1] {
            t[1] = 5;
        } else if n >= 2 && word[0] == '第' && word[1] == YI {
            t[1] = 1;
        } else {
            for i in 0..n {
                if word[i] == YI && i + 1 < n {
                    if t[i + 1] == 4 || t[i + 1] == 5 {
                        t[i] = 2;
                    } else if !PUNC.contains(word[i + 1]) {
                        t[i] = 4;
                    }
                }
            }
        }
    }

    fn three_sandhi(&self, word: &[char], t: &mut [u8]) {
        let n = word.len();
        if n == 2 && all_three(t) {
            t[0] = 2;
        } else if n == 3 {
            let (a, _) = self.split_word(word);
            if all_three(t) {
                if a == 2 {
                    t[0] = 2;
                    t[1] = 2;
                } else if a == 1 {
                    t[1] = 2;
                }
            } else {
                // finals_list = [t[..a], t[a..]]
                for i in 0..2 {
                    let (lo, hi) = if i == 0 { (0, a) } else { (a, n) };
                    let sub_all = all_three(&t[lo..hi]);
                    if sub_all && hi - lo == 2 {
                        t[lo] = 2;
                    } else if i == 1 && !sub_all && t[lo] == 3 && a > 0 && t[a - 1] == 3 {
                        t[a - 1] = 2;
                    }
                }
            }
        } else if n == 4 {
            for lo in [0, 2] {
                if all_three(&t[lo..lo + 2]) {
                    t[lo] = 2;
                }
            }
        }
    }

    /// `modified_tone`: the tones of one (merged) word after sandhi.
    pub fn modified_tone(&self, word: &[char], pos: &str, tones: &mut [u8]) {
        if word.is_empty() || tones.len() != word.len() {
            return;
        }
        Self::bu_sandhi(word, tones);
        Self::yi_sandhi(word, tones);
        self.neural_sandhi(word, pos, tones);
        self.three_sandhi(word, tones);
    }

    fn merge_bu(seg: Vec<Seg>) -> Vec<Seg> {
        let mut out = Vec::with_capacity(seg.len());
        for i in 0..seg.len() {
            let (mut word, pos) = seg[i].clone();
            if !x_eng(&pos) && i > 0 && seg[i - 1].0 == [BU] {
                let mut w = vec![BU];
                w.extend(word);
                word = w;
            }
            let next_pos = seg.get(i + 1).map(|s| s.1.as_str());
            if word != [BU] || next_pos.is_none_or(x_eng) {
                out.push((word, pos));
            }
        }
        out
    }

    fn merge_yi(seg: Vec<Seg>) -> Vec<Seg> {
        let mut out: Vec<Seg> = Vec::with_capacity(seg.len());
        let mut skip_next = false;
        for i in 0..seg.len() {
            if skip_next {
                skip_next = false;
                continue;
            }
            let (word, pos) = &seg[i];
            if i >= 1
                && *word == [YI]
                && i + 1 < seg.len()
                && seg[i - 1].0 == seg[i + 1].0
                && seg[i - 1].1 == "v"
                && !x_eng(&seg[i + 1].1)
                && !out.is_empty()
            {
                let last = out.last_mut().expect("not empty");
                last.0.push(YI);
                last.0.extend(seg[i + 1].0.iter().copied());
                skip_next = true;
            } else {
                out.push((word.clone(), pos.clone()));
            }
        }
        let seg = out;
        let mut out: Vec<Seg> = Vec::with_capacity(seg.len());
        for (word, pos) in seg {
            if let Some(last) = out.last_mut() {
                if last.0 == [YI] && !x_eng(&pos) {
                    last.0.extend(word);
                    continue;
                }
            }
            out.push((word, pos));
        }
        out
    }

    fn merge_reduplication(seg: Vec<Seg>) -> Vec<Seg> {
        let mut out: Vec<Seg> = Vec::with_capacity(seg.len());
        for (word, pos) in seg {
            if let Some(last) = out.last_mut() {
                if last.0 == word && !x_eng(&pos) {
                    last.0.extend(word);
                    continue;
                }
            }
            out.push((word, pos));
        }
        out
    }

    fn merge_three<F>(seg: Vec<Seg>, tones: &F, second: bool) -> Vec<Seg>
    where
        F: Fn(&[char]) -> Vec<u8>,
    {
        let finals: Vec<Vec<u8>> = seg
            .iter()
            .map(|(w, p)| if x_eng(p) { vec![0] } else { tones(w) })
            .collect();
        let mut merge_last = vec![false; seg.len()];
        let mut out: Vec<Seg> = Vec::with_capacity(seg.len());
        for i in 0..seg.len() {
            let (word, pos) = &seg[i];
            let cond = !x_eng(pos)
                && i >= 1
                && !merge_last[i - 1]
                && if second {
                    finals[i - 1].last() == Some(&3) && finals[i].first() == Some(&3)
                } else {
                    all_three(&finals[i - 1]) && all_three(&finals[i])
                };
            if cond {
                let prev = &seg[i - 1].0;
                let redup = prev.len() == 2 && prev[0] == prev[1];
                if !redup && prev.len() + word.len() <= 3 && !out.is_empty() {
                    out.last_mut()
                        .expect("not empty")
                        .0
                        .extend(word.iter().copied());
                    merge_last[i] = true;
                } else {
                    out.push((word.clone(), pos.clone()));
                }
            } else {
                out.push((word.clone(), pos.clone()));
            }
        }
        out
    }

    fn merge_er(seg: Vec<Seg>) -> Vec<Seg> {
        let mut out: Vec<Seg> = Vec::with_capacity(seg.len());
        for (i, (word, pos)) in seg.into_iter().enumerate() {
            if i >= 1 && word == ['儿'] {
                if let Some(last) = out.last_mut() {
                    if !x_eng(&last.1) {
                        last.0.extend(word);
                        continue;
                    }
                }
            }
            out.push((word, pos));
        }
        out
    }

    /// `pre_merge_for_modify`; `tones(word)` gives a word's tones before sandhi.
    pub fn pre_merge<F>(&self, seg: Vec<Seg>, tones: &F) -> Vec<Seg>
    where
        F: Fn(&[char]) -> Vec<u8>,
    {
        let seg = Self::merge_bu(seg);
        let seg = Self::merge_yi(seg);
        let seg = Self::merge_reduplication(seg);
        let seg = Self::merge_three(seg, tones, false);
        let seg = Self::merge_three(seg, tones, true);
        Self::merge_er(seg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(x: &str) -> Vec<char> {
        x.chars().collect()
    }

    #[test]
    fn bu_and_yi() {
        let mut t = vec![4, 4];
        ToneSandhi::bu_sandhi(&w("不对"), &mut t);
        assert_eq!(t, [2, 4]);
        let mut t = vec![4, 5, 3];
        ToneSandhi::bu_sandhi(&w("看不懂"), &mut t);
        assert_eq!(t, [4, 5, 3]);
        let mut t = vec![1, 1];
        ToneSandhi::yi_sandhi(&w("一天"), &mut t);
        assert_eq!(t, [4, 1]);
        let mut t = vec![1, 4];
        ToneSandhi::yi_sandhi(&w("一样"), &mut t);
        assert_eq!(t, [2, 4]);
        let mut t = vec![1, 1];
        ToneSandhi::yi_sandhi(&w("一千"), &mut t);
        assert_eq!(t, [1, 1], "一 in a number keeps its tone");
        let mut t = vec![4, 1, 2];
        ToneSandhi::yi_sandhi(&w("第一名"), &mut t);
        assert_eq!(t, [4, 1, 2]);
    }

    #[test]
    fn merges() {
        let seg = vec![(w("不"), "d".to_string()), (w("去"), "v".to_string())];
        let m = ToneSandhi::merge_bu(seg);
        assert_eq!(m, vec![(w("不去"), "v".to_string())]);
        let seg = vec![
            (w("看"), "v".to_string()),
            (w("一"), "m".to_string()),
            (w("看"), "v".to_string()),
        ];
        assert_eq!(
            ToneSandhi::merge_yi(seg),
            vec![(w("看一看"), "v".to_string())]
        );
        assert!(is_numeric('二') && is_numeric('7') && !is_numeric('年'));
    }
}
