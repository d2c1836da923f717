#!/usr/bin/env python3
"""Reference chat prompts for tests/Cria.Tests/Data/chat-format-cases.json.

Llama 2: token ids from Meta's own algorithm (llama/generation.py `chat_completion`, the `[INST]`/`<<SYS>>` dialog
encoding, copied below verbatim in substance) over the real Llama 2 tokenizer.model with sentencepiece.
Llama 3.0 / 3.1 / 3.2: the text the Hugging Face chat templates render (jinja2), from the shared tokenizer_config.json
(3.0) and the Llama-3.1-8B-Instruct / Llama-3.2-3B-Instruct .jinja files (3.2 with a fixed strftime_now date).
usage: /usr/bin/python3 tools/chat-fixtures/make_chat_fixtures.py ../shared/assets tests/Cria.Tests/Data/chat-format-cases.json
"""
import json, sys
import jinja2
import sentencepiece as spm

assets, out = sys.argv[1], sys.argv[2]

DIALOGS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "  Answer briefly.\n"}, {"role": "user", "content": "Name a colour."},
     {"role": "assistant", "content": "Blue."}, {"role": "user", "content": "  Another one?  "}],
    [{"role": "user", "content": "Tell me a joke."}, {"role": "assistant", "content": "Why did the llama cross the road?"},
     {"role": "user", "content": "Why?"}, {"role": "assistant", "content": "To get to the other pasture. 🦙"},
     {"role": "user", "content": "Ha. Now in français, s'il te plaît."}],
    [{"role": "user", "content": "Line one\nLine two\n\n  indented"}],
]

# --- Llama 2: Meta's chat_completion (llama/generation.py, facebookresearch/llama, v2) ---
B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"
sp = spm.SentencePieceProcessor(model_file=f"{assets}/llama2-tokenizer/tokenizer.model")

def enc(s, bos, eos):
    t = sp.encode(s)
    return ([sp.bos_id()] if bos else []) + t + ([sp.eos_id()] if eos else [])

def llama2_dialog(dialog):
    if dialog[0]["role"] == "system":
        dialog = [{"role": dialog[1]["role"], "content": B_SYS + dialog[0]["content"] + E_SYS + dialog[1]["content"]}] + dialog[2:]
    assert all(m["role"] == "user" for m in dialog[::2]) and all(m["role"] == "assistant" for m in dialog[1::2])
    tokens = sum([enc(f"{B_INST} {(p['content']).strip()} {E_INST} {(a['content']).strip()} ", True, True)
                  for p, a in zip(dialog[::2], dialog[1::2])], [])
    assert dialog[-1]["role"] == "user"
    tokens += enc(f"{B_INST} {(dialog[-1]['content']).strip()} {E_INST}", True, False)
    return tokens

# --- Llama 3.x: Hugging Face templates ---
env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = lambda v, indent=None: json.dumps(v, indent=indent)
def render(template, dialog, **kw):
    return env.from_string(template).render(messages=dialog, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>", **kw)

t30 = json.load(open(f"{assets}/llama3-tokenizer/hf/tokenizer_config.json"))["chat_template"]
t31 = open(f"{assets}/llama3-tokenizer/meta-llama-Llama-3.1-8B-Instruct.jinja").read()
t32 = open(f"{assets}/llama3-tokenizer/meta-llama-Llama-3.2-3B-Instruct.jinja").read()

cases = []
for d in DIALOGS:
    cases.append({
        "messages": d,
        "llama2_ids": llama2_dialog(d),
        "llama3_0_text": render(t30, d),  # this template always ends with the assistant header
        "llama3_1_text": render(t31, d, add_generation_prompt=True),
        "llama3_1_text_no_generation_prompt": render(t31, d, add_generation_prompt=False),
        "llama3_2_text": render(t32, d, add_generation_prompt=True, strftime_now=lambda f: "23 Nov 2026"),
    })

json.dump({
    "note": __doc__.strip(),
    "llama3_2_date": "23 Nov 2026",
    "cases": cases,
}, open(out, "w"), ensure_ascii=False, indent=1)
print(f"wrote {out}: {len(cases)} dialogs")
