"""Local stand-ins for what the local AWS (moto) cannot do; the demo labels each one where it is used."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server:
    """A threaded HTTP server on a free 127.0.0.1 port, served in the background."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class WebhookReceiver(_Server):
    """Stand-in for the DingTalk robot and a generic webhook: records what arrives, answers OK."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append({"path": self.path.split("?")[0], "body": json.loads(body or b"{}")})
                answer = b'{"errcode":0,"errmsg":"ok"}' if self.path.startswith("/dingtalk") else b'{"ok":true}'
                _answer(self, 200, answer, "application/json")

        super().__init__(Handler)


class TextractTextProxy(_Server):
    """Sits between ai-processor and moto's Textract (`AWS_ENDPOINT_URL_TEXTRACT`).

    Every request goes to moto unchanged, so moto starts the job and publishes its completion on
    the job's SNS topic. moto's GetDocumentTextDetection answers no text blocks and a page count
    the SDK cannot read, so for a job moto knows, the proxy replaces the text part of the answer
    with `pages` (one list of lines per page), one page per result page as Textract paginates.
    """

    TARGET = "Textract.GetDocumentTextDetection"

    def __init__(self, moto_url: str, pages: list[list[str]]) -> None:
        self.pages = pages
        self.answered: list[dict] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(moto_url + self.path, data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=30) as r:
                        status, answer, content_type = r.status, r.read(), r.headers.get("Content-Type", "")
                except urllib.error.HTTPError as e:  # moto's error (unknown job, bad request): passed on
                    status, answer, content_type = e.code, e.read(), e.headers.get("Content-Type", "")
                if status == 200 and self.headers.get("X-Amz-Target") == proxy.TARGET:
                    answer = json.dumps(proxy.text_page(json.loads(answer), json.loads(body or b"{}"))).encode()
                _answer(self, status, answer, content_type or "application/x-amz-json-1.1")

        super().__init__(Handler)

    def text_page(self, moto_answer: dict, request: dict) -> dict:
        """moto's answer with the blocks of one page and Textract's page count and NextToken."""
        index = int(request.get("NextToken") or 0)
        blocks = [{"BlockType": "PAGE", "Id": f"page-{index + 1}", "Page": index + 1}]
        blocks += [{"BlockType": "LINE", "Id": f"line-{index + 1}-{n}", "Page": index + 1, "Text": text,
                    "Confidence": 98.6 - n} for n, text in enumerate(self.pages[index])]
        answer = {**moto_answer, "Blocks": blocks, "DocumentMetadata": {"Pages": len(self.pages)}}
        answer.pop("NextToken", None)
        if index + 1 < len(self.pages):
            answer["NextToken"] = str(index + 1)
        self.answered.append({"job_id": request.get("JobId"), "page": index + 1})
        return answer
