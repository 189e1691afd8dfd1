"""The demo's local stand-ins: the Textract proxy in front of the local AWS (moto, started by
`make report-test`) and the subtitles the demo writes where Transcribe would."""
from __future__ import annotations

import os
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from tools.demo.scenario import first_cues, subtitle_files, transcript_items
from tools.demo.stand_ins import TextractTextProxy

PAGES = [["服务合同", "甲方 星光传媒有限公司"], ["不得用于赌博"]]


@pytest.fixture
def textract():
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    assert endpoint, "AWS_ENDPOINT_URL is not set: run under tools/with-moto.sh (make report-test)"
    proxy = TextractTextProxy(endpoint, PAGES)
    client = boto3.client("textract", endpoint_url=proxy.url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    yield proxy, client
    proxy.close()


def test_a_job_moto_started_is_answered_with_the_sample_text_one_result_page_per_page(textract):
    proxy, client = textract
    job = client.start_document_text_detection(
        DocumentLocation={"S3Object": {"Bucket": f"media-{uuid.uuid4().hex[:8]}", "Name": "documents/a.pdf"}})["JobId"]

    first = client.get_document_text_detection(JobId=job)
    second = client.get_document_text_detection(JobId=job, NextToken=first["NextToken"])

    assert first["JobStatus"] == "SUCCEEDED"
    assert (first["DocumentMetadata"]["Pages"], second["DocumentMetadata"]["Pages"]) == (2, 2)
    lines = [(b["Page"], b["Text"]) for page in (first, second) for b in page["Blocks"] if b["BlockType"] == "LINE"]
    assert lines == [(1, "服务合同"), (1, "甲方 星光传媒有限公司"), (2, "不得用于赌博")]
    assert "NextToken" not in second
    assert proxy.answered == [{"job_id": job, "page": 1}, {"job_id": job, "page": 2}]


def test_a_job_moto_does_not_know_gets_moto_s_error(textract):
    proxy, client = textract
    with pytest.raises(ClientError) as refused:
        client.get_document_text_detection(JobId="not-a-job")
    assert refused.value.response["Error"]["Code"] == "InvalidJobIdException"
    assert proxy.answered == []


def test_subtitles_have_a_cue_per_sentence_of_at_most_four_words_in_both_formats():
    srt, vtt = subtitle_files(transcript_items("Welcome to the big launch today. Stay tuned."))

    assert first_cues(srt) == [{"start": "00:00:00,000", "end": "00:00:02,300", "text": "Welcome to the big"},
                               {"start": "00:00:02,400", "end": "00:00:03,500", "text": "launch today."},
                               {"start": "00:00:03,600", "end": "00:00:04,700", "text": "Stay tuned."}]
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.300\nWelcome to the big\n")
    assert first_cues(srt, count=1) == first_cues(srt)[:1]


def test_chinese_sentences_end_their_cues_too():
    srt, _ = subtitle_files(transcript_items("大家好。欢迎收听第一期节目。"))

    assert [c["text"] for c in first_cues(srt)] == ["大家好。", "欢迎收听第一期节目。"]
