#!/usr/bin/env python3
"""A small OpenAI-compatible inference server for the reference trainer's LoRA adapters, on CPU or GPU.

It speaks the part of vLLM's API that Commons uses, so the Commons API can sit in front of either:
    GET  /v1/models                    the loaded adapters
    POST /v1/load_lora_adapter         {"lora_name", "lora_path"}: a directory holding adapter/ and labels.json
    POST /v1/chat/completions          {"model": lora_name, "messages", "max_tokens", "temperature"}
A classification adapter (labels.json lists labels) answers with the most likely label and returns
every label's probability in `choices[0].label_probabilities`; a generation adapter answers greedily.
On a GPU fleet run vLLM instead (`vllm serve BASE --enable-lora` with VLLM_ALLOW_RUNTIME_LORA_UPDATING=1);
this server exists so the same path runs on a machine with no GPU and no model hub.

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
from transformers import AutoModelForCausalLM

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

    @torch.no_grad()
    def complete(self, name, messages, max_tokens):
        with self.lock:
            if name not in self.labels:
                raise KeyError(name)
            self.model.set_adapter(name)
            labels = self.labels[name]
            if labels:
                text = "\n".join(m.get("content", "") for m in messages)
                probs = label_probabilities(self.model, self.tokenizer, prompt_for(text, labels), labels)
                best = max(probs, key=probs.get)
                return best, probs, 1
            enc = self.tokenizer(
                chat_prompt(messages), return_tensors="pt", truncation=True, max_length=context_of(self.tokenizer) // 2
            ).to(self.model.device)
            out = self.model.generate(
                **enc,
                max_new_tokens=max_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id,
            )
            new = out[0, enc["input_ids"].shape[1] :]
            return self.tokenizer.decode(new, skip_special_tokens=True).strip(), None, int(new.shape[0])


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

        def error(self, status, message):
            self.reply(status, {"error": {"message": message, "type": "invalid_request_error"}})

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
                messages = req.get("messages")
                if not isinstance(messages, list) or not messages:
                    return self.error(400, "messages must be a non-empty list")
                try:
                    text, probs, tokens = adapters.complete(req.get("model"), messages, int(req.get("max_tokens") or 64))
                except KeyError:
                    return self.error(404, f"model {req.get('model')!r} is not loaded")
                choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                if probs is not None:
                    choice["label_probabilities"] = probs
                return self.reply(
                    200,
                    {
                        "id": f"cmpl-{time.time_ns()}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": req.get("model"),
                        "choices": [choice],
                        "usage": {"completion_tokens": tokens},
                    },
                )
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
