#!/usr/bin/env python3
"""A small OpenAI-compatible inference server for the reference trainer's LoRA adapters, on CPU or GPU.

It speaks the part of vLLM's API that Commons uses, so the Commons API can sit in front of either:
    GET  /v1/models                    the loaded adapters
    POST /v1/load_lora_adapter         {"lora_name", "lora_path"}: a directory holding adapter/ and labels.json
    POST /v1/chat/completions          {"model": lora_name, "messages", max_tokens / max_completion_tokens,
                                        temperature, top_p, stop, seed, n, stream, stream_options}
A classification adapter (labels.json lists labels) answers with the most likely label and returns
every label's probability in `choices[0].label_probabilities`; a generation adapter generates with
transformers, sampling unless temperature is 0, and streams tokens as they are generated when asked
(server-sent events, usage last with stream_options.include_usage). What transformers cannot do
here (tools, tool_choice, response_format other than text, embeddings) and any field it does not
know is refused with a 400 in OpenAI's error shape naming the field, never ignored.
On a GPU fleet run vLLM instead (`vllm serve BASE --enable-lora --enable-auto-tool-choice` with
VLLM_ALLOW_RUNTIME_LORA_UPDATING=1; see docs/inference-upstream.md); this server exists so the same
path runs on a machine with no GPU and no model hub.

    COMMONS_BASE_MODEL=DIR python3 serve.py --port 8100
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lora_sft_dpo import BASE_MODEL, chat_prompt, context_of, label_probabilities, load_tokenizer, prompt_for  # noqa: E402


class Adapters:
    """One base model; each adapter is loaded once under its name and chosen per request."""

    def __init__(self):
        dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
        self.tokenizer = load_tokenizer()
        self.base = AutoModelForCausalLM.from_pretrained(BASE_MODEL, dtype=dtype)
        self.model = None
        self.labels = {}
        # PEFT switches adapters on the shared model: one request at a time holds it.
        self.lock = threading.Lock()

    def load(self, name, path):
        with self.lock:
            if name in self.labels:
                return
            with open(os.path.join(path, "labels.json")) as f:
                labels = json.load(f)
            adapter = os.path.join(path, "adapter")
            if self.model is None:
                self.model = PeftModel.from_pretrained(self.base, adapter, adapter_name=name)
            else:
                self.model.load_adapter(adapter, adapter_name=name)
            self.model.eval()
            self.labels[name] = labels

    def generation(self, name):
        """Switches the shared model to the adapter (the caller holds the lock); its labels."""
        if name not in self.labels:
            raise KeyError(name)
        self.model.set_adapter(name)
        return self.labels[name]

    @torch.no_grad()
    def classify(self, name, messages):
        with self.lock:
            labels = self.generation(name)
            prompt = prompt_for("\n".join(str(m.get("content", "")) for m in messages), labels)
            probs = label_probabilities(self.model, self.tokenizer, prompt, labels)
            return max(probs, key=probs.get), probs, len(self.tokenizer(prompt).input_ids)

    def is_classifier(self, name):
        if name not in self.labels:
            raise KeyError(name)
        return bool(self.labels[name])

    @torch.no_grad()
    def generate(self, name, req, on_text=None):
        """Generates req["n"] choices; `on_text(choice, piece)` receives text as it is decoded.

        Returns (choices as (text, finish_reason, new_tokens), prompt_tokens). Stop strings end a
        choice where they begin: the piece holding one is cut, and generation stops.
        """
        with self.lock:
            self.generation(name)
            enc = self.tokenizer(
                chat_prompt(req["messages"]),
                return_tensors="pt",
                truncation=True,
                max_length=context_of(self.tokenizer) // 2,
            ).to(self.model.device)
            prompt_tokens = int(enc["input_ids"].shape[1])
            if req["seed"] is not None:
                torch.manual_seed(req["seed"])
            sample = req["temperature"] > 0
            choices = []
            for index in range(req["n"]):
                choices.append(self.one_choice(enc, req, sample, lambda piece, i=index: on_text and on_text(i, piece)))
            return choices, prompt_tokens

    def one_choice(self, enc, req, sample, emit):
        stop = req["stop"]
        state = {"text": "", "sent": 0, "stopped": False}
        gone = None

        class StopOnString(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return state["stopped"]

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = dict(
            **enc,
            max_new_tokens=req["max_tokens"],
            do_sample=sample,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([StopOnString()]),
            return_dict_in_generate=True,
        )
        if sample:
            kwargs.update(temperature=req["temperature"], top_p=req["top_p"])
        result = {}

        def run():
            result["out"] = self.model.generate(**kwargs)

        worker = threading.Thread(target=run)
        worker.start()
        for piece in streamer:
            if state["stopped"]:
                continue  # drain: generation ends at the next step
            text = state["text"] + piece
            hits = [text.find(s) for s in stop if s in text]
            if hits:
                text, state["stopped"] = text[: min(hits)], True
            # Hold back text that could begin a stop string until the next piece decides it.
            hold = 0 if state["stopped"] else max([k for s in stop for k in range(1, len(s)) if text.endswith(s[:k])] or [0])
            if len(text) - hold > state["sent"]:
                try:
                    emit(text[state["sent"] : len(text) - hold])
                except OSError as e:  # the client left: stop generating, then let the handler see it
                    state["stopped"], gone = True, e
                state["sent"] = len(text) - hold
            state["text"] = text
        worker.join()
        if gone is not None:
            raise gone
        if state["sent"] < len(state["text"]):
            emit(state["text"][state["sent"] :])
        new = result["out"].sequences[0, enc["input_ids"].shape[1] :]
        new_tokens = int((new != self.tokenizer.pad_token_id).sum()) if self.tokenizer.pad_token_id is not None else int(new.shape[0])
        ended_by_eos = bool((new == self.tokenizer.eos_token_id).any())
        finish = "stop" if state["stopped"] or ended_by_eos or new_tokens < req["max_tokens"] else "length"
        return state["text"], finish, new_tokens


# Fields serve.py honours, and those it refuses because transformers cannot do them here.
KNOWN = {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "seed", "n",
         "stream", "stream_options", "user"}
UNSUPPORTED = {
    "tools": "serve.py cannot call tools; serve the model with vLLM --enable-auto-tool-choice",
    "tool_choice": "serve.py cannot call tools; serve the model with vLLM --enable-auto-tool-choice",
    "response_format": "serve.py cannot constrain output to JSON; serve the model with vLLM (guided decoding)",
}


class Refused(Exception):
    def __init__(self, param, message):
        super().__init__(message)
        self.param = param


def number(req, key, lo, hi, default, integer=False):
    v = req.get(key)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi or (integer and int(v) != v):
        raise Refused(key, f"{key} must be {'an integer' if integer else 'a number'} in [{lo}, {hi}]")
    return int(v) if integer else float(v)


def parse_chat(req):
    """The request's generation settings; Refused for a field serve.py would not honour."""
    for key, value in req.items():
        if key in UNSUPPORTED:
            # An empty tool list, tool_choice "none" and a text format ask for nothing: accepted.
            if value in (None, [], "none") or (key == "response_format" and isinstance(value, dict) and value.get("type") == "text"):
                continue
            raise Refused(key, UNSUPPORTED[key])
        if key not in KNOWN:
            raise Refused(key, f"serve.py does not support {key}")
    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Refused("messages", "messages must be a non-empty list")
    stop = req.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) and s for s in stop):
        raise Refused("stop", "stop must be a string or up to 4 non-empty strings")
    max_key = "max_completion_tokens" if req.get("max_completion_tokens") is not None else "max_tokens"
    options = req.get("stream_options") or {}
    return {
        "messages": messages,
        "max_tokens": number(req, max_key, 1, 4096, 256, integer=True),
        "temperature": number(req, "temperature", 0, 2, 1.0),
        "top_p": number(req, "top_p", 1e-9, 1, 1.0),
        "stop": stop,
        "seed": number(req, "seed", -(2**63), 2**63 - 1, None, integer=True),
        "n": number(req, "n", 1, 8, 1, integer=True),
        "stream": req.get("stream") is True,
        "include_usage": isinstance(options, dict) and options.get("include_usage") is True,
    }


def handler_for(adapters):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # one JSON line per request on stderr
            sys.stderr.write(json.dumps({"msg": fmt % args}) + "\n")

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, status, message, param=None):
            kind = "invalid_request_error" if status == 400 else "not_found_error" if status == 404 else "server_error"
            self.reply(status, {"error": {"message": message, "type": kind, "param": param, "code": status}})

        def chat(self, req):
            name = req.get("model")
            opts = parse_chat(req)
            base = {"id": f"chatcmpl-{time.time_ns()}", "created": int(time.time()), "model": name}
            if adapters.is_classifier(name):
                if opts["n"] != 1 or opts["stop"]:
                    raise Refused("n" if opts["n"] != 1 else "stop", "a classification adapter answers one label")
                label, probs, prompt_tokens = adapters.classify(name, opts["messages"])
                choices, usage = [(label, "stop", 1)], {"prompt_tokens": prompt_tokens}
                extra = {"label_probabilities": probs}
                if opts["stream"]:
                    return self.stream_done(base, opts, [label], choices, usage)
                return self.json_reply(base, choices, usage, extra)
            if not opts["stream"]:
                choices, prompt_tokens = adapters.generate(name, opts)
                return self.json_reply(base, choices, {"prompt_tokens": prompt_tokens}, {})
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.end_headers()
            for i in range(opts["n"]):
                self.event(base, [{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
            choices, prompt_tokens = adapters.generate(
                name, opts, lambda i, piece: self.event(base, [{"index": i, "delta": {"content": piece}, "finish_reason": None}])
            )
            return self.finish_stream(base, opts, choices, {"prompt_tokens": prompt_tokens})

        def json_reply(self, base, choices, usage, extra):
            completion = sum(c[2] for c in choices)
            usage = {**usage, "completion_tokens": completion, "total_tokens": usage["prompt_tokens"] + completion}
            body = [
                {"index": i, "message": {"role": "assistant", "content": text.strip()}, "finish_reason": finish, **extra}
                for i, (text, finish, _) in enumerate(choices)
            ]
            self.reply(200, {**base, "object": "chat.completion", "choices": body, "usage": usage})

        def stream_done(self, base, opts, texts, choices, usage):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for i, text in enumerate(texts):
                self.event(base, [{"index": i, "delta": {"role": "assistant", "content": text}, "finish_reason": None}])
            self.finish_stream(base, opts, choices, usage)

        def event(self, base, choices, **extra):
            chunk = {**base, "object": "chat.completion.chunk", "choices": choices, **extra}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

        def finish_stream(self, base, opts, choices, usage):
            for i, (_, finish, _) in enumerate(choices):
                self.event(base, [{"index": i, "delta": {}, "finish_reason": finish}])
            if opts["include_usage"]:
                completion = sum(c[2] for c in choices)
                total = usage["prompt_tokens"] + completion
                self.event(base, [], usage={**usage, "completion_tokens": completion, "total_tokens": total})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

        def body(self):
            length = int(self.headers.get("content-length") or 0)
            if length > 1 << 20:
                raise ValueError("request body over 1 MiB")
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self):
            if self.path == "/v1/models":
                return self.reply(200, {"object": "list", "data": [{"id": n, "object": "model"} for n in adapters.labels]})
            if self.path == "/health":
                return self.reply(200, {"ok": True})
            self.error(404, f"no route {self.path}")

        def do_POST(self):
            try:
                req = self.body()
            except ValueError as e:
                return self.error(400, str(e))
            if self.path == "/v1/load_lora_adapter":
                name, path = req.get("lora_name"), req.get("lora_path")
                if not isinstance(name, str) or not isinstance(path, str) or not os.path.isdir(path):
                    return self.error(400, "lora_name and an existing lora_path directory are required")
                adapters.load(name, path)
                return self.reply(200, {"loaded": name})
            if self.path == "/v1/chat/completions":
                try:
                    return self.chat(req)
                except Refused as e:
                    return self.error(400, str(e), e.param)
                except KeyError:
                    return self.error(404, f"model {req.get('model')!r} is not loaded", "model")
            if self.path == "/v1/embeddings":
                return self.error(400, "serve.py serves no embeddings; use vLLM with an embedding model", "model")
            self.error(404, f"no route {self.path}")

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), handler_for(Adapters()))
    # The line the caller waits for before sending requests.
    print(json.dumps({"type": "listening", "port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
