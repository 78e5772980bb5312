#!/usr/bin/env python3
"""Writes a deterministic mixed Chinese/English/digit benchmark text for `gpt-sovits g2p --bench`.

    python3 scripts/bench/make_mixed_zh_en.py > scripts/bench/mixed_zh_en.txt
    gpt-sovits g2p --bench --lang zh --file scripts/bench/mixed_zh_en.txt

One sentence per line (about 50 characters each, about 50,000 characters in all): Chinese clauses with
English words and phrases, numbers, dates, percentages and punctuation, as in product / tech prose.
"""
import random
import sys

rng = random.Random(20241122)
subjects = ["我们", "他们", "这个团队", "公司", "用户", "老师", "研究人员", "工程师", "产品经理", "大家"]
verbs = ["正在使用", "发布了", "测试了", "讨论了", "优化了", "下载了", "更新了", "介绍了", "分析了", "推荐了"]
objects = ["新的模型", "这个功能", "语音合成系统", "数据集", "移动应用", "开源项目", "训练脚本", "推理服务", "接口文档", "评测结果"]
tails = ["效果非常好", "速度提高了很多", "还有一些问题", "大家都很满意", "明天继续开会讨论", "下周会正式上线",
         "需要更多的数据", "准确率明显提升", "反馈很积极", "成本降低了不少"]
english = ["GPT", "Python", "PyTorch", "iPhone", "Apple", "Google", "API", "GPU", "CPU", "WiFi", "USB", "app",
           "model", "dataset", "open source", "machine learning", "deep learning", "the best", "New York",
           "Swift", "Linux", "macOS", "GitHub", "email", "meeting", "OK", "AI", "bug", "code review"]
numbers = ["3", "12", "100", "2024年", "3.14", "50%", "1,000", "10:30", "2023-12-31", "-5度", "1/2", "13812345678",
           "第2版", "v2", "8GB", "30分钟", "99.5%", "7天"]
punct_mid = ["，", "，", "、", "：", ", "]
punct_end = ["。", "。", "！", "？", ".", "…"]


def clause():
    parts = [rng.choice(subjects), rng.choice(verbs)]
    r = rng.random()
    if r < 0.6:
        parts.append(rng.choice(english))
    if rng.random() < 0.4:
        parts.append(rng.choice(numbers) + "个")
    parts.append(rng.choice(objects))
    return "".join(parts)


total = 0
lines = []
while total < 50_000:
    s = clause() + rng.choice(punct_mid) + rng.choice(tails)
    if rng.random() < 0.5:
        s += rng.choice(punct_mid) + "用" + rng.choice(english) + "和" + rng.choice(english) + rng.choice(objects)
    s += rng.choice(punct_end)
    lines.append(s)
    total += len(s)
sys.stdout.write("\n".join(lines) + "\n")
print(f"{len(lines)} lines, {total} characters", file=sys.stderr)
