"""The demo's story, one step after another, each against the functions and the local AWS.

A step is a function `step(demo, s)`: `demo` (tools/demo/context.py) holds the stack, the
running functions and the report; `s` is the step's record, whose `detail` is the one-line
result printed and kept. A step writes what a person should read into `demo.report` under its
own key, and tools/demo/narrative.py turns that key into a section of the report. To add a
step, write the function and put it in `STEPS` where it belongs in the flow.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tools.demo.context import Demo
from tools.demo.deliveries import notify
from tools.demo.framework import ROOT, LocalAws, acknowledge, drain, sqs_event
from tools.demo.reviews import expected_reviews, review_decision, review_figure_problems, review_request

REALTIME_ENDPOINT = "demo-moderation"
ASYNC_ENDPOINT = "demo-moderation-async"
# Terms that send a document to review (the template's OcrKeywords).
OCR_KEYWORDS = "赌博,casino"


@dataclass(frozen=True)
class Upload:
    key: str
    content_type: str
    body: bytes
    # What the moderation model answers for it (None: not moderated, e.g. audio, documents).
    answer: dict | None = None

    @property
    def kind(self) -> str:
        return {"covers": "image", "avatars": "image", "videos": "video", "audio": "audio",
                "documents": "document"}[self.key.split("/")[0]]


UPLOADS = [
    Upload("covers/sunset-beach.jpg", "image/jpeg", b"\xff\xd8\xff\xe0demo-jpeg",
           {"labels": [{"name": "Beach", "parent": "Outdoors", "confidence": 97.2},
                       {"name": "Sunset", "parent": "Sky", "confidence": 91.0}],
            "moderation_labels": []}),
    Upload("avatars/user-42/profile.png", "image/png", b"\x89PNG\r\n\x1a\ndemo-png",
           {"labels": [{"name": "Person", "parent": None, "confidence": 99.0}],
            "moderation_labels": [{"name": "Explicit Nudity", "parent": "Explicit", "confidence": 91.5},
                                  {"name": "Explicit", "parent": None, "confidence": 91.5}]}),
    Upload("videos/launch-teaser.mp4", "video/mp4", b"\x00\x00\x00\x18ftypmp42demo-video",
           {"labels": [{"name": "Crowd", "parent": "Person", "confidence": 88.0}],
            "moderation_labels": [{"name": "Violence", "parent": None, "confidence": 64.0, "timestamp_ms": 4200}]}),
    Upload("audio/podcast-episode-1.mp3", "audio/mpeg", b"ID3demo-audio"),
    Upload("documents/contracts/service-agreement.pdf", "application/pdf", b"%PDF-1.7 demo service agreement"),
]

# The sample document's text, page by page (what Textract would read from the PDF).
DOCUMENT_PAGES = [
    ["服务合同", "甲方 星光传媒有限公司", "乙方 云端工作室"],
    ["乙方保证所交付的视频内容不涉及赌博或其他违法活动。", "Signed in Shanghai on 30 November 2026."],
]

# What each transcript says (Transcribe's output, written by the demo: moto writes none).
TRANSCRIPT_TEXT = {
    "videos/": ("en-US", "Welcome to the launch. Today we show the new studio. Stay tuned for more."),
    "audio/": ("zh-CN", "大家好。欢迎收听第一期节目。今天我们聊聊媒体平台。"),
}
WORDS_PER_CUE = 4
# Uploads deleted at the end, with everything derived from them.
DELETED = ["videos/launch-teaser.mp4", "documents/contracts/service-agreement.pdf"]

# Sample spend (moto's Cost Explorer answers what the demo queues): every earlier day of the
# month 0.29 USD (87 % of the 0.33 daily budget), today 0.172 USD so far (52 %).
SPEND_EARLIER_DAY = 0.29
SPEND_TODAY = 0.172


def by_kind(kind: str) -> list[Upload]:
    return [u for u in UPLOADS if u.kind == kind]


# --- uploads and their first analysis ----------------------------------------------------------

def upload_media(demo: Demo, s: dict) -> None:
    realtime = [u.answer for u in UPLOADS if u.answer and u.kind != "video"]
    asynchronous = [u.answer for u in UPLOADS if u.answer and u.kind == "video"]
    LocalAws.post_static("/moto-api/static/sagemaker/endpoint-results", {
        "account_id": "123456789012", "region": demo.region,
        "results": [{"Body": json.dumps(a), "ContentType": "application/json"} for a in realtime]})
    LocalAws.post_static("/moto-api/static/sagemaker/async-endpoint-results", {
        "account_id": "123456789012", "region": demo.region,
        "results": [{"is_failure": False, "data": json.dumps(a)} for a in asynchronous]})
    demo.stand_in("moto has no Rekognition moderation and no model behind an endpoint: the SageMaker "
                  "endpoints (real-time for images, asynchronous for videos) answer with results the demo "
                  "queues in moto")
    for u in UPLOADS:
        demo.s3.put_object(Bucket=demo.media_bucket, Key=u.key, Body=u.body, ContentType=u.content_type)
    demo.count("uploads", len(UPLOADS))
    s["detail"] = ", ".join(u.key for u in UPLOADS)


def upload_events(demo: Demo, s: dict) -> None:
    q = demo.queue("ai-processor", "MediaIngestQueue")
    messages = drain(demo.sqs, q["queue_url"])
    order = {u.key: i for i, u in enumerate(UPLOADS)}

    def key_of(m: dict) -> str:
        try:
            return json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"].replace("%2F", "/")
        except (KeyError, ValueError, IndexError):
            return ""
    messages.sort(key=lambda m: order.get(key_of(m), 99))
    failed = 0
    # One message per invocation, in upload order, so each image meets its queued answer.
    for m in messages:
        r = demo.invoke("ai-processor", sqs_event([m], q["queue_arn"], demo.region))
        failed += acknowledge(demo.sqs, q["queue_url"], [m], r)
    demo.count_queue("MediaIngestQueue", len(messages), failed)
    s["detail"] = f"{len(messages)} S3 notifications, {failed} failed"


def first_results(demo: Demo, s: dict) -> None:
    """Images are finished by their upload event; videos, audio and documents wait for jobs."""
    uploads = {}
    for u in UPLOADS:
        doc = demo.document(u.key) or {}
        uploads[u.key] = {"kind": u.kind, "verdict": doc.get("verdict"), "tag": demo.tags(u.key).get("moderation-verdict"),
                          "status": doc.get("status"), "moderation": (doc.get("moderation") or {}).get("state"),
                          "transcript": (doc.get("transcript") or {}).get("state"), "text": (doc.get("text") or {}).get("state")}
        demo.note(f"{u.key}: verdict={uploads[u.key]['verdict']} tag={uploads[u.key]['tag']} status={uploads[u.key]['status']}")
    demo.report["uploads"] = uploads
    video = by_kind("video")[0]
    doc = demo.document(video.key)
    moderation = doc["moderation"]
    inference = moderation["job_id"]
    request_uri = f"s3://{demo.results_bucket}/sagemaker-async/requests/{inference}.json"
    request = json.loads(demo.read_uri(request_uri) or b"null")
    if not request or request.get("s3", {}).get("key") != video.key:
        raise RuntimeError(f"the asynchronous inference request at {request_uri} does not name {video.key}: {request}")
    demo.report["async_video"] = {
        "key": video.key, "endpoint": ASYNC_ENDPOINT, "inference_id": inference, "request_uri": request_uri,
        "request": request, "answer_uri": moderation.get("output_location"),
        "before": {"status": doc["status"], "tag": uploads[video.key]["tag"], "moderation": moderation["state"],
                   "verdict": doc.get("verdict")},
    }
    s["detail"] = ", ".join(f"{k.split('/')[0]}={v['verdict'] or v['tag'] or v['status']}" for k, v in uploads.items())


# --- jobs finishing: document text, asynchronous video verdict, transcripts ---------------------

def document_text(demo: Demo, s: dict) -> None:
    demo.stand_in("moto's Textract starts the job and publishes its completion, but its GetDocumentTextDetection "
                  "returns no text and a page count the SDK cannot read: a local proxy passes every Textract call "
                  f"to moto and puts the sample document's text ({len(DOCUMENT_PAGES)} pages) into that answer")
    jobs = demo.queue("ai-processor", "AiJobsQueue")
    if not demo.wait_for_depth(jobs["queue_url"], 1):
        raise RuntimeError("moto published no Textract completion on ai-jobs")
    n, _, _ = demo.feed("ai-processor", "AiJobsQueue")
    document = by_kind("document")[0]
    doc = demo.document(document.key)
    text = doc.get("text") or {}
    if text.get("state") != "done" or not text.get("text_uri"):
        raise RuntimeError(f"the document's text was not extracted: {text}")
    stored = json.loads(demo.read_uri(text["text_uri"]) or b"{}")
    announced = demo.published("document.text_ready", document.key)
    demo.report["document_text"] = {
        "key": document.key, "text_uri": text["text_uri"], "pages": text.get("pages"), "lines": text.get("lines"),
        "language": text.get("language"), "matched_terms": text.get("matched_terms") or [], "verdict": doc.get("verdict"),
        "tag": demo.tags(document.key).get("moderation-verdict"),
        "first_lines": [f"p.{line.get('page')}: {line.get('text')}" for line in (stored.get("lines") or [])[:4]],
        "result_pages_read": len(demo.textract.answered), "announced": len(announced),
    }
    s["detail"] = (f"{text.get('pages')} pages, {text.get('lines')} lines, verdict {doc.get('verdict')}"
                   f" (matched {', '.join(text.get('matched_terms') or []) or 'nothing'}), {n} message(s) on ai-jobs")


def async_video_verdict(demo: Demo, s: dict) -> None:
    video = demo.report["async_video"]
    topic = demo.res["SageMakerAsyncSuccessTopic"]["TopicArn"]
    demo.stand_in("moto's InvokeEndpointAsync writes the model's answer to S3 but sends no notification: the demo "
                  "publishes the success notification SageMaker sends on the endpoint's success topic, which the "
                  "template subscribes ai-jobs to")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    notification = {
        "awsRegion": demo.region, "eventTime": now, "receivedTime": now, "invocationStatus": "Completed",
        "requestParameters": {"contentType": "application/json", "endpointName": video["endpoint"],
                              "inputLocation": video["request_uri"]},
        "responseParameters": {"contentType": "application/json", "outputLocation": video["answer_uri"]},
        "inferenceId": video["inference_id"], "eventVersion": "1.0", "eventSource": "aws:sagemaker",
        "eventName": "InferenceResult",
    }
    jobs = demo.queue("ai-processor", "AiJobsQueue")
    demo.sns.publish(TopicArn=topic, Message=json.dumps(notification))
    if not demo.wait_for_depth(jobs["queue_url"], 1):
        raise RuntimeError("the success topic did not deliver to ai-jobs")
    demo.feed("ai-processor", "AiJobsQueue")
    doc = demo.document(video["key"])
    if (doc.get("moderation") or {}).get("state") != "done":
        raise RuntimeError(f"the asynchronous verdict did not arrive: {doc.get('moderation')}")
    flagged = demo.published("media.flagged", video["key"])
    video["topic"] = demo.res["SageMakerAsyncSuccessTopic"].get("TopicName", topic.rsplit(":", 1)[-1])
    video["after"] = {
        "verdict": doc.get("verdict"), "tag": demo.tags(video["key"]).get("moderation-verdict"), "status": doc.get("status"),
        "moderation": doc["moderation"]["state"], "flagged": doc.get("flagged") or [],
        "moderation_ms": (doc.get("timings") or {}).get("moderation_ms"),
        "flagged_events": [{"severity": e.get("severity")} for e in flagged],
    }
    s["detail"] = (f"{video['key']}: pending -> {doc.get('verdict')} "
                   f"({', '.join(f['category'] + ' ' + format(f['confidence'], '.0f') + ' %' for f in doc.get('flagged') or [])})")


def srt_time(seconds: float, separator: str = ",") -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{separator}{ms % 1000:03d}"


def transcript_items(text: str) -> list[dict]:
    """Transcribe's `items` for a text: its words, 0.6 s apart, and the punctuation ending each sentence."""
    items: list[dict] = []
    for sentence in re.findall(r"[^.。]+[.。]?", text):
        words, end = sentence.strip().rstrip(".。").split(), sentence.strip()[-1:]
        for w in words:
            at = 0.6 * sum(1 for i in items if i["type"] == "pronunciation")
            items.append({"type": "pronunciation", "start_time": f"{at:.1f}", "end_time": f"{at + 0.5:.1f}",
                          "alternatives": [{"confidence": "0.97", "content": w}]})
        if end in (".", "。"):
            items.append({"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": end}]})
    return items


def subtitle_files(items: list[dict]) -> tuple[str, str]:
    """SubRip and WebVTT text of a transcript's items, as Transcribe writes them: a cue per
    sentence, at most WORDS_PER_CUE words."""
    cues: list[list[dict]] = [[]]
    for item in items:
        if item["type"] == "punctuation":
            if cues[-1]:
                cues[-1][-1] = {**cues[-1][-1], "text": cues[-1][-1]["text"] + item["alternatives"][0]["content"]}
                cues.append([])
            continue
        if len(cues[-1]) == WORDS_PER_CUE:
            cues.append([])
        cues[-1].append({"start": float(item["start_time"]), "end": float(item["end_time"]),
                         "text": item["alternatives"][0]["content"]})
    srt, vtt = [], ["WEBVTT", ""]
    for n, cue in enumerate([c for c in cues if c], start=1):
        words = " ".join(w["text"] for w in cue)
        srt += [str(n), f"{srt_time(cue[0]['start'])} --> {srt_time(cue[-1]['end'])}", words, ""]
        vtt += [str(n), f"{srt_time(cue[0]['start'], '.')} --> {srt_time(cue[-1]['end'], '.')}", words, ""]
    return "\n".join(srt), "\n".join(vtt)


def first_cues(srt: str, count: int = 3) -> list[dict]:
    """The first cues of a SubRip file: start, end and text."""
    cues = []
    for block in srt.replace("\r\n", "\n").strip().split("\n\n"):
        lines = block.split("\n")
        if len(lines) >= 3 and "-->" in lines[1]:
            start, _, end = lines[1].partition(" --> ")
            cues.append({"start": start.strip(), "end": end.strip(), "text": " ".join(lines[2:])})
        if len(cues) == count:
            break
    return cues


def transcripts_and_subtitles(demo: Demo, s: dict) -> None:
    demo.stand_in("moto's Transcribe returns the transcript and subtitle URIs but writes no file: the demo writes "
                  "the transcript and its SRT and WebVTT subtitles where Transcribe would")
    jobs = demo.queue("ai-processor", "AiJobsQueue")
    sent, requested = 0, {}
    for u in UPLOADS:
        job = ((demo.document(u.key) or {}).get("transcript") or {}).get("job_name")
        if not job:
            continue
        language, text = next(v for p, v in TRANSCRIPT_TEXT.items() if u.key.startswith(p))
        items = transcript_items(text)
        srt, vtt = subtitle_files(items)
        for suffix, body in (("json", json.dumps({"jobName": job, "accountId": "123456789012", "status": "COMPLETED",
                                                    "results": {"language_code": language, "transcripts": [{"transcript": text}],
                                                                "items": items}})),
                             ("srt", srt), ("vtt", vtt)):
            demo.s3.put_object(Bucket=demo.results_bucket, Key=f"transcripts/{job}.{suffix}", Body=body.encode())
        # moto moves a job QUEUED -> IN_PROGRESS -> COMPLETED as it is looked at.
        status, described = "", {}
        for _ in range(10):
            described = demo.transcribe.get_transcription_job(TranscriptionJobName=job)["TranscriptionJob"]
            status = described["TranscriptionJobStatus"]
            if status == "COMPLETED":
                break
        requested[u.key] = (described.get("Subtitles") or {}).get("Formats", [])
        demo.note(f"Transcribe job for {u.key}: {status}, subtitles requested: {', '.join(requested[u.key]) or 'none'}")
        detail = {"TranscriptionJobName": job, "TranscriptionJobStatus": "COMPLETED"}
        before = demo.queue_depth(jobs["queue_url"])
        try:
            demo.eventbridge.put_events(Entries=[{"Source": "aws.transcribe", "DetailType": "Transcribe Job State Change",
                                             "Detail": json.dumps(detail)}])
        except Exception as e:  # moto fails on rule targets it does not implement
            demo.note(f"moto's PutEvents answered {type(e).__name__} (it cannot invoke the schedules' Lambda targets)")
        if not demo.wait_for_depth(jobs["queue_url"], before + 1):
            demo.stand_in("moto's EventBridge did not route the Transcribe event; the demo puts the event "
                          "EventBridge would deliver on ai-jobs itself")
            demo.sqs.send_message(QueueUrl=jobs["queue_url"], MessageBody=json.dumps({
                "version": "0", "id": str(uuid.uuid4()), "detail-type": "Transcribe Job State Change",
                "source": "aws.transcribe", "account": "123456789012",
                "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": demo.region, "resources": [], "detail": detail}))
        sent += 1
    n, rounds, failed = demo.feed("ai-processor", "AiJobsQueue")
    subtitles = {}
    for key in requested:
        transcript = (demo.document(key) or {}).get("transcript") or {}
        uris = transcript.get("subtitles") or []
        srt_uri = next((uri for uri in uris if uri.endswith(".srt")), None)
        announced = demo.published("transcript.ready", key)
        subtitles[key] = {
            "language": (transcript.get("summary") or {}).get("language"), "state": transcript.get("state"),
            "requested_formats": requested[key], "uris": uris,
            "first_cues": first_cues((demo.read_uri(srt_uri) or b"").decode()) if srt_uri else [],
            "announced_with_subtitles": sum(1 for e in announced if (e.get("data") or {}).get("subtitles")),
        }
        if not subtitles[key]["first_cues"]:
            raise RuntimeError(f"no subtitle cues for {key}: {transcript}")
    demo.report["subtitles"] = subtitles
    s["detail"] = f"{sent} jobs completed, {n} deliveries on ai-jobs in {rounds} round(s), {failed} failed"


# --- deletion --------------------------------------------------------------------------------

def derived_objects(demo: Demo, key: str) -> dict[str, str]:
    """What the suite derived from an upload, by what a person calls it, with its S3 URI."""
    doc = demo.document(key) or {}
    found = {"analysis document": f"s3://{demo.results_bucket}/analysis/{key}.json"}
    transcript = doc.get("transcript") or {}
    if transcript.get("transcript_uri"):
        found["transcript"] = transcript["transcript_uri"]
    for uri in transcript.get("subtitles") or []:
        found[f"subtitles ({'SubRip' if uri.endswith('.srt') else 'WebVTT'})"] = uri
    if (doc.get("text") or {}).get("text_uri"):
        found["extracted text"] = doc["text"]["text_uri"]
    video = demo.report.get("async_video") or {}
    if video.get("key") == key:
        found["asynchronous inference request"] = video["request_uri"]
    return found


def exists(demo: Demo, uri: str) -> bool:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        demo.s3.head_object(Bucket=bucket, Key=key)
        return True
    except demo.s3.exceptions.ClientError:
        return False


def delete_uploads(demo: Demo, s: dict) -> None:
    derived = {key: derived_objects(demo, key) for key in DELETED}
    before = {key: {label: exists(demo, uri) for label, uri in objects.items()} for key, objects in derived.items()}
    for key in DELETED:
        # The upload's only version, permanently (an erasure request). moto notifies only this
        # kind of delete; a plain DELETE in the versioned bucket makes a delete marker, which moto
        # does not announce (ai-processor's tests cover that shape with its sample).
        version = demo.s3.head_object(Bucket=demo.media_bucket, Key=key).get("VersionId")
        demo.s3.delete_object(Bucket=demo.media_bucket, Key=key, **({"VersionId": version} if version else {}))
    q = demo.queue("ai-processor", "MediaIngestQueue")
    if not demo.wait_for_depth(q["queue_url"], len(DELETED)):
        raise RuntimeError("moto sent no ObjectRemoved notification to media-ingest")
    demo.feed("ai-processor", "MediaIngestQueue")
    deletions = []
    for key, objects in derived.items():
        announced = demo.published("media.deleted", key)
        data = announced[-1].get("data", {}) if announced else {}
        deletions.append({
            "key": key,
            "objects": [{"what": label, "uri": uri, "before": before[key][label], "after": exists(demo, uri)}
                        for label, uri in objects.items()],
            "announced": len(announced), "removed_objects": data.get("removed_objects"),
            "delete_marker": data.get("delete_marker"),
        })
    demo.report["deletions"] = deletions
    left = [o["what"] for d in deletions for o in d["objects"] if o["after"]]
    if left or not all(d["announced"] for d in deletions):
        raise RuntimeError(f"after the deletions still there: {left}; announced: {[d['announced'] for d in deletions]}")
    s["detail"] = "; ".join(f"{d['key']}: {sum(o['before'] for o in d['objects'])} derived objects -> 0, "
                            f"media.deleted ({d['removed_objects']} removed)" for d in deletions)


# --- cost guard, notifications, statistics ---------------------------------------------------

def queue_sample_costs(first: dt.date, last: dt.date) -> None:
    """Queues one Cost Explorer answer (moto's static results): daily spend by service, 60 % App
    Runner and 40 % Lambda; today SPEND_TODAY, every other day SPEND_EARLIER_DAY."""
    today = dt.datetime.now(dt.UTC).date()
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    def groups(amount: float) -> list[dict]:
        return [{"Keys": ["AWS App Runner"], "Metrics": {"UnblendedCost": {"Amount": f"{amount * 0.6:.4f}", "Unit": "USD"}}},
                {"Keys": ["AWS Lambda"], "Metrics": {"UnblendedCost": {"Amount": f"{amount * 0.4:.4f}", "Unit": "USD"}}}]
    results = [{"TimePeriod": {"Start": f"{d:%Y-%m-%d}", "End": f"{d + dt.timedelta(days=1):%Y-%m-%d}"}, "Total": {},
                "Groups": groups(SPEND_TODAY if d == today else SPEND_EARLIER_DAY),
                "Estimated": d >= today - dt.timedelta(days=1)} for d in days]
    LocalAws.post_static("/moto-api/static/ce/cost-and-usage-results", {"account_id": "123456789012", "results": [
        {"ResultsByTime": results, "DimensionValueAttributes": [], "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]}]})


def cost_guard_run(demo: Demo, s: dict) -> None:
    demo.stand_in("moto's Cost Explorer answers from sample results loaded through its static-results API")
    now = dt.datetime.now(dt.UTC)
    queue_sample_costs(min(now.date().replace(day=1), now.date() - dt.timedelta(days=1)), now.date())
    scheduled = json.loads((ROOT / "events/cost-guard/scheduled.json").read_text())
    scheduled["time"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    r = demo.invoke("cost-guard", scheduled)
    demo.report["cost_guard"] = r
    crossings = [{k: b.get(k) for k in ("budget", "period", "level", "percent", "spend", "amount", "severity")}
                 for b in r.get("budgets", []) if b.get("announcement") == "announced"]
    demo.report["cost_crossings"] = crossings
    if not any(c["level"] == 50 for c in crossings):
        raise RuntimeError(f"no 50 % crossing announced: {r.get('budgets')}")
    s["detail"] = "; ".join(f"{c['budget']} {c['period']}: {c['spend']:.2f} of {c['amount']:.2f} "
                            f"{r.get('currency', '')} crossed {c['level']} %" for c in crossings)


def notify_events(demo: Demo, s: dict) -> None:
    n, failed, delivered = notify(demo, "events")
    if not any(d["event_type"] == "cost.threshold" and d["threshold"] == 50 for d in delivered):
        raise RuntimeError("the 50 % cost alert reached no channel")
    s["detail"] = f"{n} events, {len(delivered)} deliveries (the 50 % alert among them), {failed} failed"


def ingest_stats(demo: Demo, s: dict) -> None:
    n, _, failed = demo.feed("stats-aggregator", "StatsIngestQueue")
    s["detail"] = f"{n} events (the suite's and the notifier's delivery reports) appended to raw NDJSON, {failed} failed"


def next_firing(schedule: dict, after: dt.datetime) -> dt.datetime:
    """When an EventBridge Scheduler cron of the template (`cron(M H * * ? *)` or `cron(M * * * ? *)`,
    in the schedule's time zone) first fires at or after `after`, in UTC."""
    found = re.fullmatch(r"cron\((\d+) (\d+|\*) \* \* \? \*\)", schedule["schedule"])
    if not found:
        raise RuntimeError(f"the demo cannot tell when {schedule['schedule']} fires")
    minute, hour = found.groups()
    local = after.astimezone(ZoneInfo(schedule.get("timezone") or "UTC"))
    firing = local.replace(minute=int(minute), second=0, microsecond=0)
    if hour != "*":
        firing = firing.replace(hour=int(hour))
    while firing < local:
        firing += dt.timedelta(hours=1) if hour == "*" else dt.timedelta(days=1)
    return firing.astimezone(dt.UTC)


def scheduled_event(schedule: dict, at: dt.datetime) -> dict:
    """The schedule's input as EventBridge Scheduler sends it when it fires at `at`."""
    text = json.dumps(schedule["input"]).replace("<aws.scheduler.scheduled-time>", at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    text = text.replace("<aws.scheduler.schedule-arn>", schedule["arn"]).replace("<aws.scheduler.execution-id>", str(uuid.uuid4()))
    return json.loads(text)


def stats_schedules(demo: Demo) -> tuple[dict, dict, ZoneInfo]:
    """The hourly and daily schedules of stats-aggregator, and the daily one's time zone."""
    schedules = {r["rule"]: r for r in demo.fns["stats-aggregator"]["schedules"]}
    daily = schedules["StatsDailySchedule"]
    return schedules["StatsHourlySchedule"], daily, ZoneInfo(daily.get("timezone") or "UTC")


def morning_rollup(demo: Demo, s: dict) -> None:
    """The daily schedule's run of this morning, on yesterday: a stack deployed earlier has it, and
    today's count of reviews still pending carries on from it (the first day counted has none)."""
    _, daily_schedule, zone = stats_schedules(demo)
    today = dt.datetime.now(zone).date()
    at = next_firing(daily_schedule, dt.datetime.combine(today, dt.time(), zone))
    r = demo.invoke("stats-aggregator", scheduled_event(daily_schedule, at))
    periods = [p.get("period") for p in r.get("periods", [])]
    if periods != [f"{today - dt.timedelta(days=1)}"]:
        raise RuntimeError(f"the morning's daily run rolled {periods}, not yesterday")
    demo.report["morning_rollup"] = {"at": f"{at:%Y-%m-%d %H:%M}Z", "periods": periods}
    s["detail"] = f"as at {at:%Y-%m-%d %H:%M}Z: {', '.join(periods)} rolled ({sum(p.get('events', 0) for p in r['periods'])} events)"


def rollups(demo: Demo, s: dict) -> None:
    # The events above are in the current hour and day, which have not ended: send the scheduled
    # events as EventBridge Scheduler will at the first firing of each schedule after they end.
    now = dt.datetime.now(dt.UTC)
    hourly_schedule, daily_schedule, zone = stats_schedules(demo)
    local_day = now.astimezone(zone).date()
    hour_end = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    day_end = dt.datetime.combine(local_day + dt.timedelta(days=1), dt.time(), zone)
    hourly_at, daily_at = next_firing(hourly_schedule, hour_end), next_firing(daily_schedule, day_end)
    demo.note(f"the hourly schedule fires as at {hourly_at:%H:%M}Z, the daily one as at {daily_at:%Y-%m-%d %H:%M}Z "
              f"({daily_schedule['schedule']} {daily_schedule.get('timezone') or 'UTC'})")
    r1 = demo.invoke("stats-aggregator", scheduled_event(hourly_schedule, hourly_at))
    r2 = demo.invoke("stats-aggregator", scheduled_event(daily_schedule, daily_at))
    key, daily_key = f"stats/hourly/{now:%Y/%m/%d/%H}.json", f"stats/daily/{local_day:%Y/%m/%d}.json"
    hourly = json.loads(demo.read(demo.results_bucket, key) or b"{}")
    daily = json.loads(demo.read(demo.results_bucket, daily_key) or b"{}")
    digest = [e for e in demo.published("stats.digest") if e["data"].get("period") == f"{local_day}"]
    demo.report["rollups"] = {"hourly_key": key, "hourly": hourly, "daily_key": daily_key, "daily": daily,
                              "hourly_response": r1, "daily_response": r2}
    demo.report["digest"] = {"figures": digest[-1].get("data", {}) if digest else {}}
    if not digest:
        raise RuntimeError(f"stats-aggregator published no daily digest of {local_day}")
    expected = expected_reviews(demo)
    demo.report["digest"]["expected_reviews"] = expected
    problems = review_figure_problems(expected, daily.get("reviews"), digest[-1]["data"].get("reviews"))
    if problems:
        raise RuntimeError("review figures: " + "; ".join(problems))
    reviews = digest[-1]["data"]["reviews"]
    s["detail"] = (f"{key}, {daily_key}; digest of {digest[-1]['data'].get('period')}: reviews {reviews['requested']} "
                   f"requested, {reviews['approved']} approved, {reviews.get('pending')} pending, wait p50 "
                   f"{(reviews.get('wait_ms_p50') or 0) / 1000:.1f} s")


def notify_digest(demo: Demo, s: dict) -> None:
    n, failed, delivered = notify(demo, "digest")
    demo.report["digest"]["deliveries"] = delivered
    if not delivered:
        raise RuntimeError("the daily digest reached no channel")
    reviews = demo.report["digest"]["figures"]["reviews"]
    line = f"Reviews: {reviews['requested']} requested, {reviews['approved']} approved"
    if not any(line in d["text"] for d in delivered if d["channel"] == "cms-hook"):
        raise RuntimeError(f"the digest as delivered does not say \"{line}\"")
    s["detail"] = f"{n} event(s), delivered to {', '.join(d['channel'] for d in delivered)}, {failed} failed"


def dead_letters(demo: Demo, s: dict) -> None:
    dlqs = {logical: demo.queue_depth(r["QueueUrl"]) for logical, r in demo.res.items()
            if logical.endswith("DLQ") and r.get("QueueUrl")}
    demo.report["dead_letter_queues"] = dlqs
    s["detail"] = ", ".join(f"{k}={v}" for k, v in dlqs.items())


# The flow, in order: (title printed and kept, step).
STEPS = [
    ("stats-aggregator: this morning's daily run, on yesterday (nothing counted yet)", morning_rollup),
    ("upload sample media: two images, a video, an audio file and a PDF", upload_media),
    ("ai-processor: the uploads' S3 notifications from media-ingest", upload_events),
    ("first results: image verdicts; video, audio and document still running", first_results),
    ("document text: Textract's completion on ai-jobs -> ai-processor", document_text),
    ("video verdict: the asynchronous endpoint's success notification -> ai-jobs -> ai-processor", async_video_verdict),
    ("transcripts and subtitles: Transcribe completions -> ai-jobs -> ai-processor", transcripts_and_subtitles),
    ("notifier: the events so far; the video's review request reaches the moderators", review_request),
    ("a moderator approves the video: ai-processor invoked with the decision, then the same decision again",
     review_decision),
    ("delete the video and the document: ObjectRemoved -> media-ingest -> ai-processor", delete_uploads),
    ("cost-guard: scheduled run; today's spend crosses 50 % of the daily budget", cost_guard_run),
    ("notifier: every event so far from notifications", notify_events),
    ("stats-aggregator: the events and the notifier's delivery reports from stats-ingest", ingest_stats),
    ("stats-aggregator: hourly and daily rollups, the daily digest", rollups),
    ("notifier: the daily digest", notify_digest),
    ("dead-letter queues", dead_letters),
]
