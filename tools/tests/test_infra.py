"""The local provisioning and infra/template.yaml declare the same suite (no drift).

Runs against the real moto server (tools/with-moto.sh); each module provisions under its own prefix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from tools import provision
from tools.suite import FUNCTIONS

from .conftest import stack_for, unique_prefix
from .drift import Drift, env_example_keys

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_TEXT = provision.DEFAULT_TEMPLATE.read_text()


def drift_findings(session, prefix, template_path=provision.DEFAULT_TEMPLATE, overrides=None):
    return Drift(stack_for(session, prefix, template_path, overrides), session).findings()


# --------------------------------------------------------------------------- no drift


def test_local_resources_match_the_template(session, provisioned):
    prefix, _ = provisioned
    assert drift_findings(session, prefix) == []


def test_every_declared_resource_type_is_provisioned_or_explained():
    template = provision.load_template()
    kinds = {spec["Type"] for spec in template["Resources"].values()}
    unexplained = kinds - set(provision.CREATED_TYPES) - set(provision.LOCAL_SKIP)
    assert unexplained == set()


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, f"mutation anchor not in template: {old!r}"
    return text.replace(old, new, 1)


MUTATIONS = {
    "redrive count": (
        lambda t: _replace_once(t, "maxReceiveCount: 5", "maxReceiveCount: 3"),
        "MediaIngestQueue",
    ),
    "queue property the provisioning never set": (
        lambda t: _replace_once(t, "      VisibilityTimeout: 360\n", "      VisibilityTimeout: 360\n      DelaySeconds: 5\n"),
        "MediaIngestQueue",
    ),
    "filter policy": (
        lambda t: _replace_once(
            t, "      Endpoint: !GetAtt NotificationsQueue.Arn\n      RawMessageDelivery: true\n",
            "      Endpoint: !GetAtt NotificationsQueue.Arn\n      RawMessageDelivery: true\n"
            "      FilterPolicy:\n        severity: [critical]\n",
        ),
        "NotificationsSubscription",
    ),
    "raw delivery": (
        lambda t: _replace_once(
            t, "      Endpoint: !GetAtt StatsIngestQueue.Arn\n      RawMessageDelivery: true",
            "      Endpoint: !GetAtt StatsIngestQueue.Arn\n      RawMessageDelivery: false",
        ),
        "StatsIngestSubscription",
    ),
    "notification prefix": (
        lambda t: _replace_once(t, "                    Value: audio/", "                    Value: music/"),
        "MediaBucket",
    ),
    "schedule": (lambda t: _replace_once(t, "rate(6 hours)", "rate(12 hours)"), "CostGuardSchedule"),
    "rule name": (lambda t: _replace_once(t, "-stats-daily\n", "-stats-nightly\n"), "StatsDailySchedule"),
    "lifecycle": (lambda t: _replace_once(t, "ExpirationInDays: 1\n", "ExpirationInDays: 2\n"), "MediaBucket"),
    "new queue": (
        lambda t: _replace_once(
            t, "  MediaIngestQueuePolicy:\n",
            "  ExtraQueue:\n    Type: AWS::SQS::Queue\n    Properties:\n"
            "      QueueName: !Sub ${NamePrefix}-${Environment}-extra\n\n  MediaIngestQueuePolicy:\n",
        ),
        "ExtraQueue",
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_template_edit_without_provisioning_is_reported_as_drift(session, provisioned, tmp_path, mutation):
    prefix, _ = provisioned
    mutate, culprit = MUTATIONS[mutation]
    edited = tmp_path / "template.yaml"
    edited.write_text(mutate(TEMPLATE_TEXT))
    findings = drift_findings(session, prefix, edited)
    assert any(f.startswith(culprit + ":") for f in findings), findings


# --------------------------------------------------------------------------- function environments


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_environment_matches_its_env_example(provisioned, function):
    _, out = provisioned
    example = ROOT / "functions" / function / "env.example"
    if not example.exists():
        pytest.skip(f"functions/{function}/env.example does not exist yet")
    template, documented = set(out["functions"][function]["environment"]), set(env_example_keys(example))
    assert {
        "set by the template, missing from env.example": sorted(template - documented),
        "in env.example, not set by the template": sorted(documented - template),
    } == {"set by the template, missing from env.example": [], "in env.example, not set by the template": []}


def test_function_environments_point_at_provisioned_resources(session, provisioned):
    _, out = provisioned
    sqs, sns, s3 = session.client("sqs"), session.client("sns"), session.client("s3")
    for function, report in out["functions"].items():
        env = report["environment"]
        assert all(isinstance(v, str) for v in env.values()), function
        s3.head_bucket(Bucket=env["RESULTS_BUCKET"])
        if "EVENTS_TOPIC_ARN" in env:  # the notifier only consumes events
            sns.get_topic_attributes(TopicArn=env["EVENTS_TOPIC_ARN"])
        if env.get("DEAD_LETTER_QUEUE_URL"):
            sqs.get_queue_attributes(QueueUrl=env["DEAD_LETTER_QUEUE_URL"], AttributeNames=["QueueArn"])
        for source in report["sqs_event_sources"]:
            assert source["report_batch_item_failures"], (function, source["event"])
            sqs.get_queue_attributes(QueueUrl=source["queue_url"], AttributeNames=["QueueArn"])
    ai = out["functions"]["ai-processor"]["environment"]
    s3.head_bucket(Bucket=ai["MEDIA_BUCKET"])
    assert ai["REKOGNITION_SNS_TOPIC_ARN"].split(":")[-1].startswith("AmazonRekognition")
    session.client("iam").get_role(RoleName=ai["REKOGNITION_ROLE_ARN"].rsplit("/", 1)[-1])
    # stats-aggregator tells the rollup kind from the rule name in the scheduled event
    # stats-aggregator reads the rollup kind from detail.rollup of the scheduled event
    schedules = out["functions"]["stats-aggregator"]["schedules"]
    assert sorted((s["name"].rsplit("-", 1)[-1], s["input"]["detail"]["rollup"]) for s in schedules) == [
        ("daily", "daily"), ("hourly", "hourly"),
    ]
    for s in schedules + out["functions"]["cost-guard"]["schedules"]:
        # the shape of an EventBridge scheduled event, which both functions accept
        assert (s["input"]["detail-type"], s["input"]["source"], s["input"]["version"]) == ("Scheduled Event", "aws.events", "0")
        assert s["input"]["resources"] == ["<aws.scheduler.schedule-arn>"] and s["timezone"] == "UTC"
    assert [s["schedule"] for s in out["functions"]["cost-guard"]["schedules"]] == ["rate(6 hours)"]
    # foreign Transcribe jobs never reach ai-jobs: the rule admits the prefix the function names its jobs with
    rule = provision.load_template()["Resources"]["TranscribeJobStateRule"]["Properties"]["EventPattern"]
    prefix = stack_for(session, out["parameters"]["NamePrefix"]).resolve(rule["detail"]["TranscriptionJobName"])
    assert prefix == [{"prefix": ai["TRANSCRIBE_JOB_PREFIX"]}]
    assert ai["AI_JOBS_DEAD_LETTER_QUEUE_URL"] == out["resources"]["AiJobsDLQ"]["QueueUrl"]
    assert ai["DEAD_LETTER_QUEUE_URL"] == out["resources"]["MediaIngestDLQ"]["QueueUrl"]
    assert ai["TEXTRACT_SNS_TOPIC_ARN"].split(":")[-1].startswith("AmazonTextract")
    session.client("iam").get_role(RoleName=ai["TEXTRACT_ROLE_ARN"].rsplit("/", 1)[-1])
    assert (ai["OCR_BACKEND"], ai["SAGEMAKER_ASYNC_ENDPOINT_NAME"], ai["REVIEW_LINK_TTL_SECONDS"]) == ("textract", "", "86400")
    notifier = out["functions"]["notifier"]["environment"]
    assert notifier["STATS_INGEST_QUEUE_URL"] == out["resources"]["StatsIngestQueue"]["QueueUrl"]
    assert {f["environment"]["SUITE_TIMEZONE"] for f in out["functions"].values()} == {"UTC"}


# --------------------------------------------------------------------------- the wiring works


def _drain(sqs, url, want=None, wait_s=3.0):
    messages, deadline = [], time.monotonic() + wait_s
    while time.monotonic() < deadline:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        messages += batch
        if want is not None and len(messages) >= want:
            break
        if not batch:
            time.sleep(0.1)
    return messages


def _queue_url(out, logical):
    return out["resources"][logical]["QueueUrl"]


# Every type and severity the producers emit (shared::events::types, alarm.state_changed and the
# notifier's own delivery reports excluded: they do not travel on suite-events).
EVENT_TYPES = [
    "media.analyzed", "media.flagged", "media.failed", "media.skipped", "media.deleted", "media.reviewed",
    "document.text_ready", "transcript.ready", "cost.threshold", "cost.action", "stats.digest",
]
SEVERITIES = ["info", "warning", "critical"]


def test_every_suite_event_reaches_the_notifier_and_stats_whatever_its_type_and_severity(session, provisioned):
    """Routing decides, not the subscription: no filter drops an event before the notifier's rules."""
    _, out = provisioned
    sns, sqs = session.client("sns"), session.client("sqs")
    topic = out["resources"]["SuiteEventsTopic"]["TopicArn"]
    sent = []
    for event_type in EVENT_TYPES:
        for severity in SEVERITIES:
            event_id = f"{event_type}-{severity}"
            body = json.dumps({"version": 1, "id": event_id, "type": event_type, "severity": severity})
            sns.publish(
                TopicArn=topic,
                Message=body,
                MessageAttributes={
                    "type": {"DataType": "String", "StringValue": event_type},
                    "severity": {"DataType": "String", "StringValue": severity},
                },
            )
            sent.append(event_id)
    notified = _drain(sqs, _queue_url(out, "NotificationsQueue"), want=len(sent), wait_s=10)
    recorded = _drain(sqs, _queue_url(out, "StatsIngestQueue"), want=len(sent), wait_s=10)
    # raw delivery: the body is the envelope itself, not an SNS notification wrapping it
    assert sorted(json.loads(m["Body"])["id"] for m in notified) == sorted(sent)
    assert sorted(json.loads(m["Body"])["id"] for m in recorded) == sorted(sent)


def test_alarm_notifications_reach_the_notifier_wrapped_and_not_stats(session, provisioned):
    _, out = provisioned
    sns, sqs = session.client("sns"), session.client("sqs")
    alarm = {
        "AlarmName": "media-suite-dev-ai-processor-failed-records",
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed: 1 datapoint [12.5] was greater than the threshold (5.0).",
    }
    sns.publish(TopicArn=out["resources"]["AlarmTopic"]["TopicArn"], Subject="ALARM", Message=json.dumps(alarm))
    notified = _drain(sqs, _queue_url(out, "NotificationsQueue"), want=1)
    assert len(notified) == 1
    wrapper = json.loads(notified[0]["Body"])  # not raw: the notifier sees the SNS notification
    assert wrapper["Type"] == "Notification"
    assert wrapper["TopicArn"] == out["resources"]["AlarmTopic"]["TopicArn"]
    assert json.loads(wrapper["Message"]) == alarm
    assert _drain(sqs, _queue_url(out, "StatsIngestQueue"), wait_s=1) == []


def test_uploads_under_pipeline_prefixes_reach_media_ingest_and_temp_does_not(session, provisioned):
    _, out = provisioned
    s3, sqs = session.client("s3"), session.client("sqs")
    bucket = out["functions"]["ai-processor"]["environment"]["MEDIA_BUCKET"]
    keys = ["videos/u1/clip one.mp4", "covers/c.jpg", "avatars/a.png", "audio/voice.m4a", "temp/part.bin", "other/x"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"sample")
    messages = _drain(sqs, _queue_url(out, "MediaIngestQueue"), want=4)
    delivered = []
    for message in messages:
        for record in json.loads(message["Body"]).get("Records", []):
            # moto encodes keys like S3 does in events ('+' for space) and also '/' as %2F
            delivered.append(urllib.parse.unquote_plus(record["s3"]["object"]["key"]))
    assert sorted(delivered) == sorted(keys[:4])


def test_deletes_under_media_prefixes_and_document_uploads_reach_media_ingest(session, provisioned):
    _, out = provisioned
    s3, sqs = session.client("s3"), session.client("sqs")
    bucket = out["functions"]["ai-processor"]["environment"]["MEDIA_BUCKET"]
    url = _queue_url(out, "MediaIngestQueue")
    s3.put_object(Bucket=bucket, Key="documents/contract.pdf", Body=b"%PDF-1.7")
    s3.put_object(Bucket=bucket, Key="temp/scratch.pdf", Body=b"%PDF-1.7")
    created = _drain(sqs, url, want=1)
    # A version delete: moto sends ObjectRemoved:Delete for it, but nothing for a delete marker
    # (AWS sends ObjectRemoved:DeleteMarkerCreated, which the same ObjectRemoved:* rule admits).
    for key in ("documents/contract.pdf", "temp/scratch.pdf"):
        version = s3.head_object(Bucket=bucket, Key=key)["VersionId"]
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
    removed = _drain(sqs, url, want=1)

    def records(messages):
        return [
            (r["eventName"], urllib.parse.unquote_plus(r["s3"]["object"]["key"]))
            for m in messages for r in json.loads(m["Body"]).get("Records", [])
        ]

    assert [(name.split(":")[0], key) for name, key in records(created)] == [("ObjectCreated", "documents/contract.pdf")]
    assert [(name.split(":")[0], key) for name, key in records(removed)] == [("ObjectRemoved", "documents/contract.pdf")]


def test_textract_completions_reach_ai_jobs(session, provisioned):
    _, out = provisioned
    sns, sqs = session.client("sns"), session.client("sqs")
    completion = {"JobId": "job-2", "Status": "SUCCEEDED", "API": "StartDocumentTextDetection",
                  "DocumentLocation": {"S3ObjectName": "documents/contract.pdf", "S3Bucket": "media"}}
    sns.publish(TopicArn=out["resources"]["TextractTopic"]["TopicArn"], Message=json.dumps(completion))
    assert [json.loads(m["Body"]) for m in _drain(sqs, _queue_url(out, "AiJobsQueue"), want=1)] == [completion]


def test_only_the_suites_own_transcribe_jobs_reach_ai_jobs(session, provisioned):
    """Another team's Transcribe job in the same account never lands on ai-jobs (and its DLQ)."""
    _, out = provisioned
    events, sqs = session.client("events"), session.client("sqs")
    prefix = out["functions"]["ai-processor"]["environment"]["TRANSCRIBE_JOB_PREFIX"]
    for name in (f"{prefix}videos-clip-1", "other-team-job-1", f"x{prefix}clip"):
        detail = {"TranscriptionJobName": name, "TranscriptionJobStatus": "COMPLETED"}
        answer = events.put_events(Entries=[{"Source": "aws.transcribe", "DetailType": "Transcribe Job State Change",
                                             "Detail": json.dumps(detail)}])
        assert answer["FailedEntryCount"] == 0
    received = _drain(sqs, _queue_url(out, "AiJobsQueue"), want=1)
    assert [json.loads(m["Body"])["detail"]["TranscriptionJobName"] for m in received] == [f"{prefix}videos-clip-1"]


def test_rekognition_completions_and_transcribe_rule_target_ai_jobs(session, provisioned):
    _, out = provisioned
    sns, sqs, events = session.client("sns"), session.client("sqs"), session.client("events")
    completion = {"JobId": "job-1", "Status": "SUCCEEDED", "API": "StartContentModeration"}
    sns.publish(TopicArn=out["resources"]["RekognitionTopic"]["TopicArn"], Message=json.dumps(completion))
    received = _drain(sqs, _queue_url(out, "AiJobsQueue"), want=1)
    assert [json.loads(m["Body"]) for m in received] == [completion]
    rule = out["resources"]["TranscribeJobStateRule"]["Ref"]
    targets = events.list_targets_by_rule(Rule=rule)["Targets"]
    assert [t["Arn"] for t in targets] == [out["resources"]["AiJobsQueue"]["Arn"]]


# --------------------------------------------------------------------------- parameters and partitions


def test_sagemaker_backend_provisions_no_rekognition_resources(session):
    prefix = unique_prefix()
    overrides = {"ModerationBackend": "sagemaker", "SageMakerEndpointName": "moderation-model"}
    out = provision.provision(prefix=prefix, overrides=overrides, log=lambda _line: None)
    assert not any("Rekognition" in logical for logical in out["resources"])
    env = out["functions"]["ai-processor"]["environment"]
    assert (env["MODERATION_BACKEND"], env["SAGEMAKER_ENDPOINT_NAME"]) == ("sagemaker", "moderation-model")
    assert env["REKOGNITION_SNS_TOPIC_ARN"] == env["REKOGNITION_ROLE_ARN"] == ""
    topics = [t["TopicArn"] for t in session.client("sns").list_topics()["Topics"]]
    assert not any(t.endswith(f"AmazonRekognition-{prefix}-dev") for t in topics)
    assert drift_findings(session, prefix, overrides=overrides) == []


def test_sagemaker_async_endpoint_gets_its_notification_topics_on_ai_jobs(session):
    prefix = unique_prefix()
    overrides = {
        "ModerationBackend": "sagemaker", "SageMakerEndpointName": "moderation-model",
        "SageMakerAsyncEndpointName": "moderation-async", "OcrBackend": "none",
        "SuiteTimezone": "Asia/Shanghai",
    }
    out = provision.provision(prefix=prefix, overrides=overrides, log=lambda _line: None)
    assert not any("Textract" in logical for logical in out["resources"])
    env = out["functions"]["ai-processor"]["environment"]
    assert (env["OCR_BACKEND"], env["SAGEMAKER_ASYNC_ENDPOINT_NAME"]) == ("none", "moderation-async")
    assert env["TEXTRACT_SNS_TOPIC_ARN"] == env["TEXTRACT_ROLE_ARN"] == ""
    sns, sqs = session.client("sns"), session.client("sqs")
    for logical, status in (("SageMakerAsyncSuccessTopic", "SUCCESS"), ("SageMakerAsyncErrorTopic", "ERROR")):
        notice = {"awsRegion": "us-east-1", "invocationStatus": status, "inferenceId": f"id-{status}"}
        sns.publish(TopicArn=out["resources"][logical]["TopicArn"], Message=json.dumps(notice))
        assert [json.loads(m["Body"]) for m in _drain(sqs, _queue_url(out, "AiJobsQueue"), want=1)] == [notice]
    # the schedules fire at local times
    scheduler = session.client("scheduler")
    for logical in ("StatsHourlySchedule", "StatsDailySchedule", "CostGuardSchedule"):
        schedule = scheduler.get_schedule(Name=out["resources"][logical]["Ref"])
        assert schedule["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    assert {f["environment"]["SUITE_TIMEZONE"] for f in out["functions"].values()} == {"Asia/Shanghai"}
    assert drift_findings(session, prefix, overrides=overrides) == []


def test_the_daily_rollup_fires_after_the_local_days_lateness_and_the_hourly_run_that_rolls_it():
    """The daily rollup merges the local day's hourly documents: it must fire (local time) after the
    day's last hour has closed (its end + ROLLUP_LATENESS_MINUTES) and after the hourly run that
    rolls that hour once it has closed, and still on the next day."""
    resources = provision.load_template()["Resources"]
    env = resources["StatsAggregatorFunction"]["Properties"]["Environment"]["Variables"]
    lateness = int(env["ROLLUP_LATENESS_MINUTES"])

    def cron(logical: str) -> tuple[str, str]:
        props = resources[logical]["Properties"]
        assert props["ScheduleExpressionTimezone"] == {"Ref": "SuiteTimezone"}, logical
        minute, hour = props["ScheduleExpression"].removeprefix("cron(").split()[:2]
        return minute, hour

    hourly_minute, every_hour = cron("StatsHourlySchedule")
    assert every_hour == "*"
    daily_minute, daily_hour = cron("StatsDailySchedule")
    daily_at = int(daily_hour) * 60 + int(daily_minute)  # minutes after local midnight
    # the first hourly run at or after the lateness window closes rolls the day's last hour
    hourly_after = lateness + (int(hourly_minute) - lateness) % 60
    assert hourly_after < daily_at < 24 * 60, (lateness, hourly_after, daily_at)


def test_without_an_async_endpoint_there_are_no_async_topics(provisioned):
    _, out = provisioned
    assert not {"SageMakerAsyncSuccessTopic", "SageMakerAsyncErrorTopic"} & set(out["resources"])


def test_the_prod_cn_configuration_provisions_in_cn_northwest_1_without_drift(session, monkeypatch):
    """samconfig's prod-cn parameters, in the China region of the local AWS."""
    import tomllib

    import boto3

    config = tomllib.loads((ROOT / "infra" / "samconfig.toml").read_text())["prod-cn"]["deploy"]["parameters"]
    overrides = provision.parse_params(config["parameter_overrides"])
    overrides.pop("NamePrefix")
    environment = overrides.pop("Environment")
    monkeypatch.setenv("AWS_REGION", config["region"])
    prefix = unique_prefix()
    out = provision.provision(prefix=prefix, environment=environment, overrides=overrides, log=lambda _line: None)
    assert out["partition"] == "aws-cn"
    assert all(":aws-cn:" in r["Arn"] for r in out["resources"].values() if "Arn" in r)
    assert not {"RekognitionTopic", "TextractTopic"} & set(out["resources"])
    # moto's Scheduler serves no aws-cn region (botocore lists none): said, not silently dropped
    for logical in ("StatsHourlySchedule", "StatsDailySchedule", "CostGuardSchedule"):
        assert out["not_created_locally"][logical] == "moto serves no scheduler in cn-northwest-1"
    assert out["functions"]["stats-aggregator"]["environment"]["SUITE_TIMEZONE"] == "Asia/Shanghai"
    ai = out["functions"]["ai-processor"]["environment"]
    assert (ai["OCR_BACKEND"], ai["SAGEMAKER_OCR_ENDPOINT_NAME"]) == ("sagemaker", overrides["SageMakerOcrEndpointName"])
    assert {"SageMakerAsyncSuccessTopic", "SageMakerAsyncErrorTopic"} <= set(out["resources"])
    cn = boto3.session.Session(region_name=config["region"])
    stack = provision.Stack(
        provision.load_template(), name_prefix=prefix, environment=environment, region=config["region"],
        account=cn.client("sts").get_caller_identity()["Account"], overrides=overrides,
    )
    assert Drift(stack, cn).findings() == []


def test_china_region_requires_the_sagemaker_backend_and_builds_aws_cn_arns():
    template = provision.load_template()
    with pytest.raises(provision.TemplateError, match="ModerationBackend=sagemaker") as refused:
        provision.Stack(template, name_prefix="cn", environment="prod", region="cn-northwest-1")
    assert "OcrBackend=none" in str(refused.value)  # every refusal at once
    with pytest.raises(provision.TemplateError, match="function URLs do not exist in aws-cn"):
        provision.Stack(
            template, name_prefix="cn", environment="prod", region="cn-northwest-1",
            overrides={"ModerationBackend": "sagemaker", "OcrBackend": "none", "ReviewFunctionUrl": "true"},
        )
    stack = provision.Stack(
        template, name_prefix="cn", environment="prod", region="cn-northwest-1",
        overrides={
            "ModerationBackend": "sagemaker", "SageMakerEndpointName": "moderation",
            "OcrBackend": "none", "SageMakerAsyncEndpointName": "moderation-async",
        },
    )
    assert stack.physical["SuiteEventsTopic"]["TopicArn"].startswith("arn:aws-cn:sns:cn-northwest-1:")
    assert stack.physical["MediaBucket"]["Arn"].startswith("arn:aws-cn:s3:::cn-prod-media-")
    assert not {"RekognitionTopic", "TextractTopic", "TextractPublishRole", "ReviewDecisionsUrl"} & set(stack.active_resources())
    assert {"SageMakerAsyncSuccessTopic", "SageMakerAsyncErrorTopic"} <= set(stack.active_resources())


def test_sagemaker_ocr_reuses_the_async_topics_and_may_invoke_only_its_endpoint_in_aws_cn():
    template = provision.load_template()
    china = {"ModerationBackend": "sagemaker", "SageMakerEndpointName": "moderation", "OcrBackend": "sagemaker"}
    with pytest.raises(provision.TemplateError, match="set SageMakerOcrEndpointName"):
        provision.Stack(template, name_prefix="cn", environment="prod", region="cn-northwest-1", overrides=china)
    stack = provision.Stack(
        template, name_prefix="cn", environment="prod", region="cn-northwest-1",
        overrides={**china, "SageMakerOcrEndpointName": "media-ocr-async"},
    )
    # No asynchronous video endpoint, yet the OCR endpoint's notifications reach ai-jobs.
    active = set(stack.active_resources())
    assert {"SageMakerAsyncSuccessTopic", "SageMakerAsyncErrorTopic",
            "SageMakerAsyncSuccessSubscription", "SageMakerAsyncErrorSubscription"} <= active
    def statements_naming(text, policies):
        """The statements (of `policies`) that mention `text` and are active in this stack."""
        raw = [s for p in policies for s in p["Statement"] if text in json.dumps(s)]
        return [r for r in (stack.resolve(s) for s in raw) if isinstance(r, dict)]

    queue_policy = template["Resources"]["AiJobsQueuePolicy"]["Properties"]["PolicyDocument"]
    assert [s["Sid"] for s in statements_naming("SageMakerAsync", [queue_policy])] == ["SageMakerAsyncInferenceResults"]
    role = [p["PolicyDocument"] for p in template["Resources"]["AiProcessorRole"]["Properties"]["Policies"]]
    invoke_async = [s["Resource"] for s in statements_naming("sagemaker:InvokeEndpointAsync", role)]
    assert invoke_async == [f"arn:aws-cn:sagemaker:cn-northwest-1:{stack.account}:endpoint/media-ocr-async"]
    env = template["Resources"]["AiProcessorFunction"]["Properties"]["Environment"]["Variables"]
    assert stack.resolve([env["OCR_BACKEND"], env["SAGEMAKER_OCR_ENDPOINT_NAME"]]) == ["sagemaker", "media-ocr-async"]


def test_provisioning_twice_through_the_cli_converges(session, tmp_path):
    prefix = unique_prefix()
    runs = []
    for n in (1, 2):
        out = tmp_path / f"run{n}.json"
        subprocess.run(
            [sys.executable, "-m", "tools.provision", "--prefix", prefix, "--quiet", "--out", str(out)],
            cwd=ROOT, check=True,
        )
        runs.append(json.loads(out.read_text()))
    assert runs[0] == runs[1]
    assert drift_findings(session, prefix) == []


# --------------------------------------------------------------------------- template invariants


def test_queues_functions_and_event_sources_follow_the_rules():
    template = provision.load_template()
    resources = template["Resources"]
    glob = template["Globals"]["Function"]
    for logical, spec in resources.items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        props = {**glob, **spec["Properties"]}
        assert props["Runtime"] == "provided.al2023" and props["Architectures"] == ["arm64"], logical
        assert props["Tracing"] == "Active", logical
        assert 128 <= props["MemorySize"] <= 512, logical
        for event in props.get("Events", {}).values():
            assert event["Type"] == "SQS"
            assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical
            queue = resources[event["Properties"]["Queue"]["Fn::GetAtt"][0]]["Properties"]
            # Lambda's guidance (6 x timeout) plus the batching window, which a message spends
            # in flight before the function even starts: then with at least a minute to spare
            window = event["Properties"].get("MaximumBatchingWindowInSeconds", 0)
            needed = 6 * props["Timeout"] + window + (60 if window else 0)
            assert queue["VisibilityTimeout"] >= needed, (logical, queue["QueueName"], needed)
            assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    for logical, spec in resources.items():
        if spec["Type"] == "AWS::SQS::Queue":
            assert spec["Properties"].get("SqsManagedSseEnabled") is True, logical


def test_idempotency_markers_outlive_the_latest_redrive():
    """A message may wait its work queue's retention, then its DLQ's, before a redrive: the marker
    that recognises it as a duplicate must still exist then."""
    resources = provision.load_template()["Resources"]
    queues = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue"}
    latest = 0
    for props in queues.values():
        if "RedrivePolicy" in props:
            dlq = queues[props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]]
            latest = max(latest, props["MessageRetentionPeriod"] + dlq["MessageRetentionPeriod"])
    rules = resources["ResultsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (markers,) = [r for r in rules if r.get("Prefix") == "idempotency/"]
    assert markers["ExpirationInDays"] * 86400 > latest, (markers["ExpirationInDays"], latest / 86400)


def test_every_samconfig_environment_deploys_with_valid_parameters():
    import tomllib

    config = tomllib.loads((ROOT / "infra" / "samconfig.toml").read_text())
    template = provision.load_template()
    environments = [name for name, value in config.items() if isinstance(value, dict) and "deploy" in value]
    assert {"dev", "staging", "prod"} <= set(environments)
    for name in environments:
        deploy = config[name]["deploy"]["parameters"]
        overrides = provision.parse_params(deploy["parameter_overrides"])
        region = deploy.get("region", "us-east-1")
        stack = provision.Stack(template, name_prefix="x", environment="dev", region=region, overrides=overrides)
        assert stack.parameters["Environment"] in name, name
        if stack.partition == "aws-cn":
            assert json.loads(stack.parameters["CostBudgets"])["currency"] == "CNY"
            assert "RekognitionTopic" not in stack.active_resources()


# --------------------------------------------------------------------------- alarms


def _alarms(resources: dict) -> list[dict]:
    return [spec["Properties"] for spec in resources.values() if spec["Type"] == "AWS::CloudWatch::Alarm"]


def _metric_stats(alarm: dict) -> list[dict]:
    """The plain metric of a single-metric alarm, or every MetricStat of a metric-math alarm."""
    if "MetricName" in alarm:
        return [{"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"], "Dimensions": alarm["Dimensions"]}]
    return [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]


def _watching(alarms: list[dict], metric: str, dimension: dict) -> list[dict]:
    return [a for a in alarms if any(m["MetricName"] == metric and dimension in m["Dimensions"] for m in _metric_stats(a))]


def test_every_alarm_notifies_the_alarm_topic():
    for alarm in _alarms(provision.load_template()["Resources"]):
        assert {"Ref": "AlarmTopic"} in alarm["AlarmActions"], alarm["AlarmName"]


def test_every_function_consumer_and_queue_has_the_alarms_that_see_failures():
    template = provision.load_template()
    resources = template["Resources"]
    alarms = _alarms(resources)
    functions = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    assert len(functions) == 4
    for logical, props in functions.items():
        fn = {"Name": "FunctionName", "Value": {"Ref": logical}}
        service = provision.function_package(props["CodeUri"])
        assert _watching(alarms, "Throttles", fn), logical
        (duration,) = _watching(alarms, "Duration", fn)
        assert duration["ExtendedStatistic"] == "p95" and duration["Threshold"] == 0.8 * props["Timeout"] * 1000, logical
        if any(e["Type"] == "SQS" for e in props.get("Events", {}).values()):
            # failed-record ratio from the EMF outcome counts of shared::batch, dimension `service`
            svc = {"Name": "service", "Value": service}
            (ratio,) = _watching(alarms, "RecordsPoison", svc)
            assert {m["MetricName"] for m in _metric_stats(ratio)} == {"RecordsProcessed", "RecordsRetryable", "RecordsPoison"}
            assert all(m["Namespace"] == template["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"]
                       for m in _metric_stats(ratio))
            assert (ratio["Threshold"], ratio["ComparisonOperator"]) == (5, "GreaterThanThreshold")
            assert {m["MetricStat"]["Period"] for m in ratio["Metrics"] if "MetricStat" in m} == {300}
    queues = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue"}
    dead_letter_queues = {p["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for p in queues.values() if "RedrivePolicy" in p}
    for logical, props in queues.items():
        queue = {"Name": "QueueName", "Value": {"Fn::GetAtt": [logical, "QueueName"]}}
        if "RedrivePolicy" in props:
            assert _watching(alarms, "ApproximateAgeOfOldestMessage", queue), logical
        else:  # a dead-letter queue (of a work queue, or of the schedules)
            assert logical in dead_letter_queues or logical == "ScheduledInvocationsDLQ", logical
            (visible,) = _watching(alarms, "ApproximateNumberOfMessagesVisible", queue)
            assert (visible["Threshold"], visible["ComparisonOperator"]) == (0, "GreaterThanThreshold"), logical
    (not_run,) = [a for a in _watching(alarms, "Invocations", {"Name": "FunctionName", "Value": {"Ref": "CostGuardFunction"}})
                  if "MetricName" in a]
    assert (not_run["Period"] * not_run["EvaluationPeriods"], not_run["ComparisonOperator"], not_run["Threshold"]) == (
        7 * 3600, "LessThanThreshold", 1)
    assert not_run["TreatMissingData"] == "breaching"


# --------------------------------------------------------------------------- dashboard


def test_the_dashboard_shows_what_people_ask_for_over_the_suites_own_resources():
    stack = provision.Stack(provision.load_template(), name_prefix="dash", environment="dev", region="us-east-1")
    body = json.loads(stack.resolve(provision.load_template()["Resources"]["SuiteDashboard"]["Properties"]["DashboardBody"]))
    widgets = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}

    def metric_names(props):
        names = set()
        for m in props["metrics"]:
            for item in m:
                if isinstance(item, dict) and "expression" in item:
                    names.add(item["expression"].split('MetricName="')[1].split('"')[0])
            if isinstance(m[0], str):
                names.add(m[1])
        return names

    shown = {title.split(" (")[0]: metric_names(props) for title, props in widgets.items()}
    assert shown["Uploads by verdict"] == {"UploadsAnalysed"}
    assert shown["Failed SQS records per consumer"] == {"RecordsRetryable", "RecordsPoison"}
    assert shown["Queue depth"] == {"ApproximateNumberOfMessagesVisible"}
    assert shown["Oldest message age"] == {"ApproximateAgeOfOldestMessage"}
    assert shown["Dead letters"] == {"ApproximateNumberOfMessagesVisible"}
    assert shown["Function duration p50 / p95 / p99"] == {"Duration"}
    assert shown["Processing latency p50 / p90 / p99"] == {"LatencyP50", "LatencyP90", "LatencyP99"}
    assert shown["Notifications delivered and failed by channel"] == {"NotificationsDelivered", "NotificationsFailed"}
    assert shown["Spend against the monthly budget"] == {"MonthlyBudgetPercent"}
    # every queue shown is one of the suite's, by its physical name; every dead-letter queue is there
    queue_names = {e["QueueName"] for e in stack.physical.values() if "QueueName" in e}
    shown_queues = {m[3] for p in widgets.values() for m in p["metrics"] if isinstance(m[0], str) and m[2] == "QueueName"}
    assert shown_queues == queue_names
    assert all("${" not in json.dumps(p) for p in widgets.values())
    deliveries = widgets["Notifications delivered and failed by channel"]["metrics"]
    assert all("{MediaSuite,service,channel}" in m[0]["expression"] for m in deliveries)


# --------------------------------------------------------------------------- rollouts, logging, tracing


def test_every_function_rolls_out_behind_its_alias_and_rolls_back_on_its_own_alarms():
    template = provision.load_template()
    resources = template["Resources"]
    glob = template["Globals"]["Function"]
    assert glob["AutoPublishAlias"] == "live"
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    for logical, spec in resources.items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        props = spec["Properties"]
        service = provision.function_package(props["CodeUri"])
        preference = props["DeploymentPreference"]
        assert preference["Type"] == {"Ref": "DeploymentType"}, logical
        triggers = {a["Ref"] for a in preference["Alarms"]}
        # the function's own failure alarms: errors, throttles, duration, failed records
        own = {
            k for k, a in alarms.items()
            if any({"Name": "FunctionName", "Value": {"Ref": logical}} in m["Dimensions"]
                   or {"Name": "service", "Value": service} in m["Dimensions"] for m in _metric_stats(a))
        }
        # not a trigger: "not run for 7 hours" is in ALARM before the first run and would block every deploy
        assert triggers == own - {"CostGuardNotRunAlarm"}, logical
        assert len(triggers) >= 3, logical
    # schedules (and the review URL) call the alias, as SAM points the SQS event sources at it
    for logical in ("StatsHourlySchedule", "StatsDailySchedule", "CostGuardSchedule"):
        assert resources[logical]["Properties"]["Target"]["Arn"]["Ref"].endswith("Function.Alias"), logical
    url = resources["ReviewDecisionsUrl"]
    assert (url["Properties"]["Qualifier"], url["Properties"]["AuthType"]) == ("live", "AWS_IAM")
    assert url["DependsOn"] == "AiProcessorFunctionAliaslive"


def test_each_environment_deploys_the_way_it_should():
    import tomllib

    config = tomllib.loads((ROOT / "infra" / "samconfig.toml").read_text())
    expected = {"dev": "AllAtOnce", "staging": "Canary10Percent5Minutes", "prod": "Canary10Percent5Minutes",
                "prod-cn": "Canary10Percent5Minutes"}
    for env, deployment in expected.items():
        params = provision.parse_params(config[env]["deploy"]["parameters"]["parameter_overrides"])
        assert params["DeploymentType"] == deployment, env
        assert params["LogLevel"] in ("DEBUG", "INFO"), env
    cn = provision.parse_params(config["prod-cn"]["deploy"]["parameters"]["parameter_overrides"])
    assert (cn["ModerationBackend"], cn["OcrBackend"], cn["SuiteTimezone"]) == ("sagemaker", "sagemaker", "Asia/Shanghai")
    assert cn["SageMakerOcrEndpointName"]
    assert config["prod-cn"]["deploy"]["parameters"]["region"] == "cn-northwest-1"


def test_logs_are_json_at_the_environments_level_and_traces_cross_the_topic(provisioned, tmp_path):
    template = provision.load_template()
    logging = template["Globals"]["Function"]["LoggingConfig"]
    assert logging == {"LogFormat": "JSON", "ApplicationLogLevel": {"Ref": "LogLevel"}, "SystemLogLevel": "WARN"}
    _, out = provisioned
    for name, function in out["functions"].items():
        assert "LOG_LEVEL" not in function["environment"], name  # Lambda's AWS_LAMBDA_LOG_LEVEL instead
        assert function["alias_arn"] == f"arn:aws:lambda:{out['region']}:{out['account']}:function:{function['function_name']}:live"
    provision.write_env_files(out, tmp_path)
    lines = (tmp_path / "notifier.env").read_text().splitlines()
    assert "AWS_LAMBDA_LOG_LEVEL='INFO'" in lines and "AWS_LAMBDA_LOG_FORMAT='JSON'" in lines
    topic = template["Resources"]["SuiteEventsTopic"]["Properties"]
    assert topic["TracingConfig"] == "Active"
    policy = json.loads(
        provision.Stack(template, name_prefix="xr", environment="dev", region="us-east-1")
        .resolve(template["Resources"]["SuiteEventsTracingPolicy"]["Properties"]["PolicyDocument"])
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"} and "xray:PutTraceSegments" in statement["Action"]
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":xr-dev-suite-events")
    for spec in template["Resources"].values():
        if spec["Type"] == "AWS::Serverless::Function":
            assert "LOG_LEVEL" not in spec["Properties"].get("Environment", {}).get("Variables", {})


# --------------------------------------------------------------------------- Glue and Athena


def _rust_const(path: Path, name: str) -> str:
    import re

    m = re.search(rf'pub const {name}: &str = "([^"]+)";', path.read_text())
    assert m, f"{name} not in {path}"
    return m.group(1)


def test_named_queries_are_the_sql_files_verbatim():
    resources = provision.load_template()["Resources"]
    queries = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Athena::NamedQuery"}
    files = sorted((ROOT / "infra" / "queries").glob("*.sql"))
    assert len(queries) == len(files) == 3
    for props in queries.values():
        name = props["Description"].split("(infra/queries/")[1].rstrip(")")
        assert props["QueryString"] == (ROOT / "infra" / "queries" / name).read_text(), name
        assert props["Database"] == {"Ref": "StatsDatabase"} and props["WorkGroup"] == {"Ref": "AthenaWorkGroup"}
    tables = {v["Properties"]["TableInput"]["Name"] for v in resources.values() if v["Type"] == "AWS::Glue::Table"}
    for path in files:
        sql = path.read_text()
        assert any(f"FROM {t}" in sql for t in tables), path.name


def test_glue_tables_follow_the_layout_stats_aggregator_writes():
    template = provision.load_template()
    stack = provision.Stack(template, name_prefix="media-suite", environment="dev", region="cn-northwest-1",
                            overrides={"ModerationBackend": "sagemaker", "OcrBackend": "none"})
    resources = stack.active_resources()
    period = ROOT / "functions" / "stats-aggregator" / "src" / "period.rs"
    ingest = ROOT / "functions" / "stats-aggregator" / "src" / "ingest.rs"
    assert _rust_const(ingest, "RAW_EXTENSION") == ".ndjson.zst"  # Athena reads .zst text as zstd
    bucket = stack.physical["ResultsBucket"]["Ref"]
    layout = {  # table -> (prefix constant, key format of the partition folder)
        "raw_events": ("RAW_PREFIX", "yyyy/MM/dd/HH"),     # stats/raw/YYYY/MM/DD/HH/<batch>.ndjson.zst
        "hourly_rollups": ("HOURLY_PREFIX", "yyyy/MM/dd"),  # stats/hourly/YYYY/MM/DD/HH.json
        "daily_rollups": ("DAILY_PREFIX", "yyyy/MM"),       # stats/daily/YYYY/MM/DD.json
    }
    seen = set()
    for spec in resources.values():
        if spec["Type"] != "AWS::Glue::Table":
            continue
        table = stack.resolve(spec["Properties"]["TableInput"])
        prefix_const, key_format = layout[table["Name"]]
        prefix = _rust_const(period, prefix_const)
        params = table["Parameters"]
        assert table["StorageDescriptor"]["Location"] == f"s3://{bucket}/{prefix}"
        assert params["projection.enabled"] == "true"
        if table["Name"] == "raw_events":
            # year/month/day/hour partitions, the columns the named queries group by.
            assert [k["Name"] for k in table["PartitionKeys"]] == ["year", "month", "day", "hour"]
            assert params["storage.location.template"] == f"s3://{bucket}/{prefix}${{year}}/${{month}}/${{day}}/${{hour}}/"
            assert (params["projection.month.digits"], params["projection.hour.range"]) == ("2", "0,23")
        else:
            assert params["projection.dt.format"] == key_format
            assert params["storage.location.template"] == f"s3://{bucket}/{prefix}${{dt}}/"
        assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
        seen.add(table["Name"])
    assert seen == set(layout)
    raw = next(s for s in resources.values() if s["Type"] == "AWS::Glue::Table" and s["Properties"]["TableInput"]["Name"] == "raw_events")
    columns = [c["Name"] for c in raw["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]]
    assert columns == ["version", "id", "type", "source", "time", "subject", "severity", "data"]  # shared::events::Envelope
    database = stack.resolve(resources["StatsDatabase"]["Properties"]["DatabaseInput"]["Name"])
    assert database == "media_suite_dev_stats"


def test_athena_results_are_encrypted_and_expire():
    template = provision.load_template()
    workgroup = template["Resources"]["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert workgroup["EnforceWorkGroupConfiguration"] is True
    assert workgroup["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] in ("SSE_S3", "SSE_KMS")
    assert workgroup["ResultConfiguration"]["OutputLocation"]["Fn::Sub"].endswith("/athena-results/")
    rules = template["Resources"]["ResultsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (expiry,) = [r for r in rules if r.get("Prefix") == "athena-results/"]
    assert expiry["Status"] == "Enabled" and expiry["ExpirationInDays"] <= 90


def test_schedule_inputs_have_the_shape_of_the_scheduled_samples_the_functions_are_tested_with(provisioned):
    """The functions' tests run events/<function>/scheduled*.json; what Scheduler sends must look the same."""
    _, out = provisioned
    samples = {
        "stats-aggregator": ROOT / "events" / "stats-aggregator" / "scheduled-hourly.json",
        "cost-guard": ROOT / "events" / "cost-guard" / "scheduled.json",
    }
    for function, path in samples.items():
        sample = json.loads(path.read_text())
        for schedule in out["functions"][function]["schedules"]:
            sent = schedule["input"]
            assert set(sent) == set(sample), (function, schedule["rule"])
            for key in ("version", "detail-type", "source"):
                assert sent[key] == sample[key], (function, key)
            assert (sent["account"], sent["region"]) == (out["account"], out["region"])


_TRANSFORM = """
import json, sys
from pathlib import Path
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

path, parameters = sys.argv[1], json.loads(sys.argv[2])
template = yaml_parse(Path(path).read_text())
for spec in template["Resources"].values():
    if spec["Type"] == "AWS::Serverless::Function":  # the transform wants the packaged (S3) form
        spec["Properties"]["CodeUri"] = "s3://artifacts/" + Path(spec["Properties"]["CodeUri"]).parent.name + ".zip"

class NoManagedPolicies:
    def load(self):
        return {}

print(json.dumps(transform(template, parameters, NoManagedPolicies())["Resources"]))
"""


def _sam_transform(parameters: dict[str, str], region: str = "us-east-1") -> dict:
    """The template as CloudFormation's SAM transform expands it, with the translator of the
    pinned SAM CLI (its own environment, installed by tools/sam.sh on first use)."""
    subprocess.run([str(ROOT / "tools" / "sam.sh"), "--version"], check=True, capture_output=True)
    python = Path(os.environ.get("SUITE_VENV", ROOT / ".venv")) / "sam" / "bin" / "python"
    env = {**os.environ, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    result = subprocess.run(
        [str(python), "-c", _TRANSFORM, str(provision.DEFAULT_TEMPLATE), json.dumps(parameters)],
        check=True, capture_output=True, text=True, env=env,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize("environment", ["dev", "prod-cn"])
def test_after_the_sam_transform_event_sources_call_the_alias_and_codedeploy_shifts_it(environment):
    import tomllib

    config = tomllib.loads((ROOT / "infra" / "samconfig.toml").read_text())[environment]["deploy"]["parameters"]
    params = provision.parse_params(config["parameter_overrides"])
    resources = _sam_transform(params, config.get("region", "us-east-1"))
    mappings = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == 4
    assert all(m["FunctionName"]["Ref"].endswith("Aliaslive") for m in mappings)
    groups = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CodeDeploy::DeploymentGroup"}
    assert len(groups) == 4
    for name, group in groups.items():
        assert group["DeploymentConfigName"]["Fn::Sub"][1]["ConfigName"] == params["DeploymentType"], name
        assert group["AutoRollbackConfiguration"]["Enabled"] is True, name
        assert group["AlarmConfiguration"]["Enabled"] is True and group["AlarmConfiguration"]["Alarms"], name
    aliases = {v["Properties"]["Name"] for v in resources.values() if v["Type"] == "AWS::Lambda::Alias"}
    assert aliases == {"live"}
