"""Least privilege: each function's IAM role allows exactly the AWS calls its code makes.

The test reads the Rust sources, derives the IAM actions each function needs, and compares them
with the statements of the function's role in infra/template.yaml, in both directions:

* every derived action is allowed by some statement of the role (else the call is denied in AWS);
* every action a statement names is derived (else the role grants more than the code uses).

How calls are found (`sdk_calls`)
---------------------------------
* Sources: `functions/<f>/src/**/*.rs` and `shared/src/**/*.rs`, without `#[cfg(test)]` items,
  comments and string literals. `shared/src/testkit/` is left out: it is behind the `testkit`
  feature, which only dev-dependencies enable, so it is never in a Lambda build.
* An SDK call is a method call with no arguments, `.name()`, where `name` is an operation of an
  `aws-sdk-*` crate the crate depends on (the fluent builder: `client.put_object()`). The list of
  operations comes from the SDK crate itself (`src/operation/<name>/` in the cargo registry, at the
  version in Cargo.lock), so no hand-kept list can go stale. A name that several of those crates
  share (`tag_resource`: Lambda and ECS) is settled by the `aws_sdk_<crate>` paths the file names;
  a call that stays ambiguous fails the test.
* The builder statement (from the call to the next `;`) is kept, because some options change the
  action: see `VARIANTS`.
* A call in `shared/` counts for a function only if the function uses the type whose `impl` holds
  it, by name or through another shared type built from it (`SnsEventPublisher` -> sns:Publish;
  `SqsDeadLetterQueue`, also inside `shared::batch::DeadLetters` -> sqs:SendMessage;
  `S3IdempotencyStore` -> s3:GetObject/PutObject/DeleteObject). A call outside any `impl` counts
  if the function names its module (`shared::<module>`). So a function that only moves poison
  messages through the redrive policy, or publishes no events, is not granted those calls.

How calls map to actions
------------------------
* `service:PascalCaseOperation`, with the IAM prefix of the SDK crate (`SERVICE_PREFIX`:
  costexplorer -> ce, sagemakerruntime -> sagemaker) and the exceptions in `RENAMED`
  (HeadObject -> s3:GetObject, ListObjectsV2 -> s3:ListBucket, ...).
* `VARIANTS`: options of a call that need another action as well (a version id ->
  s3:GetObjectVersion / s3:GetObjectVersionTagging / s3:PutObjectVersionTagging; a Rekognition
  notification channel -> iam:PassRole on the publishing role; an S3 object handed to Rekognition
  or Transcribe -> s3:GetObject with the caller's permissions; a Transcribe output bucket ->
  s3:PutObject).
* `IMPLIED`: actions AWS performs on the function's behalf with its role (Lambda's logs, X-Ray,
  the SQS event source, the asynchronous dead-letter queue, KMS for encrypted topics and secrets,
  s3:ListBucket so that a missing key reads as 404 instead of 403). Each is listed with its reason
  and is derived from the template or the calls, never granted blanket.

Wildcard resources
------------------
No statement of a function role may use `Resource: "*"` unless every action in it belongs to
`NO_RESOURCE_LEVEL_PERMISSIONS` (actions AWS authorises only against "*"), and the template carries a
comment saying so right above the statement.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tools import provision
from tools.suite import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_LINES = provision.DEFAULT_TEMPLATE.read_text().splitlines()

SERVICE_PREFIX = {
    "s3": "s3",
    "sqs": "sqs",
    "sns": "sns",
    "secretsmanager": "secretsmanager",
    "rekognition": "rekognition",
    "transcribe": "transcribe",
    "textract": "textract",
    "sagemakerruntime": "sagemaker",
    "costexplorer": "ce",
    "lambda": "lambda",
    "ecs": "ecs",
    "apprunner": "apprunner",
}

# Operations whose IAM action is not the operation's name.
RENAMED = {
    ("s3", "head_object"): "s3:GetObject",
    ("s3", "list_objects_v2"): "s3:ListBucket",
    ("s3", "list_objects"): "s3:ListBucket",
    ("s3", "list_object_versions"): "s3:ListBucketVersions",
    ("lambda", "list_tags"): "lambda:ListTags",
    ("lambda", "invoke"): "lambda:InvokeFunction",
}

# (crate, operation, text in the builder statement) -> extra actions, reason.
VARIANTS = [
    ("s3", "get_object", "version_id(", ["s3:GetObjectVersion"], "reading a given version needs s3:GetObjectVersion"),
    ("s3", "head_object", "version_id(", ["s3:GetObjectVersion"], "HeadObject of a given version needs s3:GetObjectVersion"),
    ("s3", "get_object_tagging", "version_id(", ["s3:GetObjectVersionTagging"], "tags of a given version need s3:GetObjectVersionTagging"),
    ("s3", "put_object_tagging", "version_id(", ["s3:PutObjectVersionTagging"], "tagging a given version needs s3:PutObjectVersionTagging"),
    ("s3", "delete_object", "version_id(", ["s3:DeleteObjectVersion"], "deleting a given version needs s3:DeleteObjectVersion"),
    ("rekognition", "start_content_moderation", "notification_channel(", ["iam:PassRole"],
     "the notification channel names a role Rekognition assumes to publish; the caller must pass it"),
    ("rekognition", "", "s3_object(", ["s3:GetObject"], "Rekognition reads the S3 object with the caller's permissions"),
    ("textract", "start_document_text_detection", "notification_channel(", ["iam:PassRole"],
     "the notification channel names a role Textract assumes to publish; the caller must pass it"),
    ("textract", "start_document_text_detection", "document_location(", ["s3:GetObject"],
     "Textract reads the S3 document with the caller's permissions"),
    ("transcribe", "start_transcription_job", "media_file_uri(", ["s3:GetObject"],
     "Transcribe reads the media file with the caller's permissions"),
    ("transcribe", "start_transcription_job", "output_bucket_name(", ["s3:PutObject"],
     "Transcribe writes the transcript to OutputBucketName with the caller's permissions"),
]

# Actions with no resource-level permissions: "*" is the only resource IAM accepts for them.
NO_RESOURCE_LEVEL_PERMISSIONS = {
    "xray:PutTraceSegments": "X-Ray has no resource types",
    "xray:PutTelemetryRecords": "X-Ray has no resource types",
    "ce:GetCostAndUsage": "Cost Explorer has no resource types for cost queries",
    "ce:GetCostForecast": "Cost Explorer has no resource types for cost queries",
    "rekognition:DetectLabels": "acts on an image in the request, no Rekognition resource",
    "rekognition:DetectModerationLabels": "acts on an image in the request (no custom adapter used), no Rekognition resource",
    "rekognition:StartContentModeration": "Rekognition video jobs have no resource type",
    "rekognition:GetContentModeration": "Rekognition video jobs have no resource type",
    "textract:StartDocumentTextDetection": "Textract text detection acts on a document in the request, no Textract resource",
    "textract:GetDocumentTextDetection": "Textract jobs have no resource type",
}


# --------------------------------------------------------------------------- Rust sources


def _sanitise(text: str) -> str:
    """Comments and string/char literal contents replaced by spaces (positions kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif re.match(r'r#*"', text[i:i + 8]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append('"' + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + '"')
            i = j
        elif c == "'" and (m := re.match(r"'(\\.|[^\\'])'", text[i:i + 4])):
            out.append("' '" + " " * (len(m.group(0)) - 3))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _matching_brace(text: str, open_at: int) -> int:
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def _without_test_items(text: str) -> str:
    """Blanks every item marked #[cfg(test)] (test modules and test-only functions)."""
    while (m := re.search(r"#\[cfg\(test\)\]", text)):
        brace = text.find("{", m.end())
        semi = text.find(";", m.end())
        end = semi if semi >= 0 and (brace < 0 or semi < brace) else _matching_brace(text, brace)
        text = text[: m.start()] + re.sub(r"[^\n]", " ", text[m.start(): end + 1]) + text[end + 1:]
    return text


def rust_source(path: Path) -> str:
    return _without_test_items(_sanitise(path.read_text()))


def sdk_crates(crate_dir: Path) -> set[str]:
    manifest = (crate_dir / "Cargo.toml").read_text()
    deps = manifest.split("[dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^aws-sdk-([a-z0-9]+)", deps, re.MULTILINE))


def _locked_version(crate: str) -> str:
    lock = (ROOT / "Cargo.lock").read_text()
    m = re.search(rf'name = "{re.escape(crate)}"\nversion = "([^"]+)"', lock)
    assert m, f"{crate} is not in Cargo.lock"
    return m.group(1)


def _registry_dirs() -> list[Path]:
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    return sorted((home / "registry" / "src").glob("*"))


_OPERATIONS: dict[str, set[str]] = {}


def operations(crate: str) -> set[str]:
    """Operation names of aws-sdk-<crate>, read from the crate source cargo downloaded."""
    if crate not in _OPERATIONS:
        name = f"aws-sdk-{crate}"
        version = _locked_version(name)
        for registry in _registry_dirs():
            ops = registry / f"{name}-{version}" / "src" / "operation"
            if ops.is_dir():
                _OPERATIONS[crate] = {p.name for p in ops.iterdir() if p.is_dir()}
                break
        else:
            pytest.fail(f"{name} {version} source not found in the cargo registry: run `cargo fetch` first")
    return _OPERATIONS[crate]


class Call:
    def __init__(self, crate: str, op: str, statement: str, where: str) -> None:
        self.crate, self.op, self.statement, self.where = crate, op, statement, where

    def actions(self) -> dict[str, str]:
        """IAM action -> why, for this call."""
        prefix = SERVICE_PREFIX[self.crate]
        main = RENAMED.get((self.crate, self.op)) or prefix + ":" + "".join(p.capitalize() for p in self.op.split("_"))
        found = {main: f"{self.op}() at {self.where}"}
        for crate, op, marker, extra, reason in VARIANTS:
            if crate == self.crate and op in ("", self.op) and marker in self.statement:
                for action in extra:
                    found.setdefault(action, f"{self.op}() at {self.where}: {reason}")
        return found


def sdk_calls(path: Path, crates: set[str], text: str | None = None) -> list[tuple[int, Call]]:
    """(offset, call) for every SDK operation call in one file."""
    text = rust_source(path) if text is None else text
    named = set(re.findall(r"\baws_sdk_([a-z0-9]+)::", text)) & crates
    calls = []
    for m in re.finditer(r"\.\s*([a-z][a-z0-9_]*)\(\)", text):
        op = m.group(1)
        owners = sorted(c for c in crates if op in operations(c))
        if len(owners) > 1:
            owners = sorted(set(owners) & named)
        if not owners:
            continue
        line = text.count("\n", 0, m.start()) + 1
        where = f"{path.relative_to(ROOT)}:{line}"
        assert len(owners) == 1, f"{where}: .{op}() could be an operation of {owners}; name the client's crate in the file"
        end = text.find(";", m.end())
        calls.append((m.start(), Call(owners[0], op, text[m.start(): end if end >= 0 else len(text)], where)))
    return calls


def _enclosing_impl(text: str, offset: int) -> str | None:
    """The type of the top-level `impl` block that holds `offset`, if any."""
    owner = None
    for m in re.finditer(r"^impl(?:<[^>]*>)?\s+(?:[\w:<>]+\s+for\s+)?(\w+)[^{]*\{", text, re.MULTILINE):
        if m.start() > offset:
            break
        if _matching_brace(text, m.end() - 1) >= offset:
            owner = m.group(1)
    return owner


def _shared_types() -> dict[str, str]:
    """Each type shared/ defines -> the text of its definition and its impl blocks."""
    types: dict[str, str] = {}
    for path in sorted((ROOT / "shared" / "src").rglob("*.rs")):
        if "testkit" in path.parts:
            continue
        text = rust_source(path)
        for m in re.finditer(r"^pub\s+(?:struct|enum)\s+(\w+)[^{;]*([{;])", text, re.MULTILINE):
            end = _matching_brace(text, m.end() - 1) if m.group(2) == "{" else m.end()
            types[m.group(1)] = types.get(m.group(1), "") + text[m.start(): end + 1]
        for m in re.finditer(r"^impl(?:<[^>]*>)?\s+(?:[\w:<>]+\s+for\s+)?(\w+)[^{]*\{", text, re.MULTILINE):
            end = _matching_brace(text, m.end() - 1)
            types[m.group(1)] = types.get(m.group(1), "") + text[m.start(): end + 1]
    return types


def shared_types_used(own_text: str) -> set[str]:
    """Shared types the function names, and the shared types those are built from (transitively)."""
    types = _shared_types()
    used: set[str] = set()
    todo = [t for t in types if re.search(rf"\b{t}\b", own_text)]
    while todo:
        name = todo.pop()
        if name in used:
            continue
        used.add(name)
        todo += [t for t in types if t not in used and re.search(rf"\b{t}\b", types[name])]
    return used


def code_actions(function: str) -> dict[str, str]:
    """Every IAM action the function's code (and the shared code it uses) calls -> where."""
    crate_dir = ROOT / "functions" / function
    own = {p: rust_source(p) for p in sorted((crate_dir / "src").rglob("*.rs"))}
    own_text = "\n".join(own.values())
    actions: dict[str, str] = {}
    for path, text in own.items():
        for _, call in sdk_calls(path, sdk_crates(crate_dir), text):
            for action, why in call.actions().items():
                actions.setdefault(action, why)
    shared_dir = ROOT / "shared"
    used_types = shared_types_used(own_text)
    for path in sorted((shared_dir / "src").rglob("*.rs")):
        if "testkit" in path.parts:
            continue
        text = rust_source(path)
        for offset, call in sdk_calls(path, sdk_crates(shared_dir), text):
            owner = _enclosing_impl(text, offset)
            used = owner in used_types if owner else f"shared::{path.stem}" in own_text
            if used:
                for action, why in call.actions().items():
                    actions.setdefault(action, f"{why} (via {owner or path.stem})")
    return actions


# --------------------------------------------------------------------------- template


def _template() -> dict:
    return provision.load_template()


def function_resource(template: dict, function: str) -> tuple[str, dict]:
    for logical, spec in template["Resources"].items():
        if spec["Type"] == "AWS::Serverless::Function" and f"/{function}/" in spec["Properties"]["CodeUri"]:
            return logical, spec
    raise AssertionError(f"no AWS::Serverless::Function for {function} in the template")


def _getatt_target(value) -> str:
    att = value["Fn::GetAtt"]
    return (att.split(".")[0] if isinstance(att, str) else att[0])


def role_statements(template: dict, function: str) -> list[dict]:
    """The statements of the function role's inline policies; both branches of every Fn::If."""
    _, spec = function_resource(template, function)
    role = template["Resources"][_getatt_target(spec["Properties"]["Role"])]
    statements = []
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if isinstance(statement, dict) and "Fn::If" in statement:
                statements += [b for b in statement["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}]
            else:
                statements.append(statement)
    assert not role["Properties"].get("ManagedPolicyArns"), f"{function}: managed policies are not checked; use inline ones"
    return statements


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def allowed_actions(template: dict, function: str) -> dict[str, str]:
    found = {}
    for statement in role_statements(template, function):
        assert statement["Effect"] in ("Allow", "Deny"), statement
        if statement["Effect"] == "Deny":
            continue
        for action in _listed(statement["Action"]):
            found.setdefault(action, statement.get("Sid", "?"))
    return found


def _encrypted_topics(template: dict) -> bool:
    return all(
        spec["Properties"].get("KmsMasterKeyId")
        for spec in template["Resources"].values()
        if spec["Type"] == "AWS::SNS::Topic"
    )


def implied_actions(template: dict, function: str, code: dict[str, str]) -> dict[str, str]:
    """Actions AWS performs with the function's role on its behalf -> reason."""
    _, spec = function_resource(template, function)
    props = spec["Properties"]
    globals_ = template.get("Globals", {}).get("Function", {})
    implied = {
        "logs:CreateLogStream": "Lambda writes the function's output to its log group (created by the template)",
        "logs:PutLogEvents": "Lambda writes the function's output to its log group (created by the template)",
    }
    if props.get("Tracing", globals_.get("Tracing")) == "Active":
        for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
            implied[action] = "Tracing: Active; Lambda sends the trace segments with the function's role"
    if any(e["Type"] == "SQS" for e in props.get("Events", {}).values()):
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            implied[action] = "the SQS event source mapping polls and deletes with the function's role"
    if props.get("DeadLetterQueue", {}).get("Type") == "SQS":
        implied["sqs:SendMessage"] = "Lambda sends failed asynchronous invocations to DeadLetterQueue with the function's role"
    if "sns:Publish" in code and _encrypted_topics(template):
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            implied[action] = "the suite's topics are KMS-encrypted; SNS uses the publisher's KMS permissions"
    if "secretsmanager:GetSecretValue" in code:
        implied["kms:Decrypt"] = "the secrets are encrypted with the suite key; Secrets Manager decrypts as the caller"
    if "s3:GetObject" in code:
        implied["s3:ListBucket"] = "without it S3 answers a missing key with 403, not the 404 the code treats as absent"
    return implied


def needed_actions(template: dict, function: str) -> dict[str, str]:
    code = code_actions(function)
    return {**implied_actions(template, function, code), **code}


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def template():
    return _template()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_call_the_code_makes_is_allowed(template, function):
    allowed = allowed_actions(template, function)
    missing = {a: why for a, why in needed_actions(template, function).items() if a not in allowed}
    assert missing == {}, f"{function}: the role does not allow these calls"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_role_allows_only_what_the_code_calls(template, function):
    needed = needed_actions(template, function)
    extra = {a: sid for a, sid in allowed_actions(template, function).items() if a not in needed}
    assert extra == {}, f"{function}: the role allows actions no code of the function calls"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_wildcard_resource_except_where_the_service_has_no_resource_level_permissions(template, function):
    problems = []
    for statement in role_statements(template, function):
        if statement["Effect"] == "Deny":
            continue
        actions = _listed(statement["Action"])
        problems += [f"{statement.get('Sid')}: wildcard action {a}" for a in actions if "*" in a]
        if "*" not in _listed(statement["Resource"]):
            continue
        scoped = [a for a in actions if a not in NO_RESOURCE_LEVEL_PERMISSIONS]
        if scoped:
            problems.append(f"{statement.get('Sid')}: Resource \"*\" for {scoped}, which allow resource-level permissions")
        if not _documented_above(statement.get("Sid", "")):
            problems.append(f"{statement.get('Sid')}: Resource \"*\" without a comment on why in the template")
    assert problems == []


def _documented_above(sid: str) -> bool:
    """A comment saying the service has no resource-level permissions, just above the statement."""
    for i, line in enumerate(TEMPLATE_LINES):
        if re.search(rf"Sid:\s*{re.escape(sid)}\s*$", line):
            above = TEMPLATE_LINES[max(0, i - 4): i]
            return any("#" in text and "no resource-level permissions" in text for text in above)
    return False


def test_the_scanner_sees_the_calls_it_must_see(template):
    """Guards the scanner itself: a known call of each kind is found and mapped."""
    assert code_actions("ai-processor")["s3:GetObjectVersionTagging"].startswith("get_object_tagging()")
    assert "iam:PassRole" in code_actions("ai-processor")
    assert "transcribe:StartTranscriptionJob" in code_actions("ai-processor")
    assert "sagemaker:InvokeEndpoint" in code_actions("ai-processor")
    assert "secretsmanager:GetSecretValue" in code_actions("notifier")
    assert "sqs:SendMessage" in code_actions("stats-aggregator")
    assert "sqs:SendMessage" not in code_actions("cost-guard")
    assert {"lambda:TagResource", "ecs:TagResource"} <= set(code_actions("cost-guard"))
    assert "ce:GetCostAndUsage" in code_actions("cost-guard")


def test_a_new_call_in_the_code_is_caught(template):
    """A call the role does not allow, added to (a copy of) a source file, is found and not allowed."""
    source = ROOT / "functions" / "stats-aggregator" / "src" / "ingest.rs"
    text = rust_source(source) + "\nfn extra(c: &aws_sdk_s3::Client) { let _ = c.delete_bucket().bucket(b).send(); }\n"
    calls = [c for _, c in sdk_calls(source, sdk_crates(source.parent.parent), text)]
    actions = {a for c in calls for a in c.actions()}
    assert "s3:DeleteBucket" in actions
    assert "s3:DeleteBucket" not in allowed_actions(template, "stats-aggregator")


def test_an_action_removed_from_the_template_is_caught(tmp_path):
    """Removing an action the code needs from the template makes the role fall short."""
    text = provision.DEFAULT_TEMPLATE.read_text()
    old = "Action: [ce:GetCostAndUsage, ce:GetCostForecast]"
    assert text.count(old) == 1
    mutated = tmp_path / "template.yaml"
    mutated.write_text(text.replace(old, "Action: [ce:GetCostForecast]"))
    changed = provision.load_template(mutated)
    allowed = allowed_actions(changed, "cost-guard")
    assert "ce:GetCostAndUsage" in needed_actions(changed, "cost-guard")
    assert "ce:GetCostAndUsage" not in allowed


def _statements_with(template: dict, function: str, action: str, effect: str = "Allow") -> list[dict]:
    return [s for s in role_statements(template, function) if s["Effect"] == effect and action in _listed(s["Action"])]


def test_the_notifier_never_publishes_into_its_own_input(template):
    """suite-events and the alarm topic feed the notifications queue: a publish there would loop."""
    allowed = _statements_with(template, "notifier", "sns:Publish")
    denied = _statements_with(template, "notifier", "sns:Publish", "Deny")
    # the allow covers every topic of the suite (channel topics), so only the deny keeps these out
    assert [s["Resource"]["Fn::Sub"] for s in allowed] == [
        "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${NamePrefix}-${Environment}-*"
    ]
    assert [s["Resource"] for s in denied] == [[{"Ref": "SuiteEventsTopic"}, {"Ref": "AlarmTopic"}]]


def test_the_notifier_sends_delivery_reports_only_to_the_stats_queue_and_its_dlq(template):
    resources = [r for s in _statements_with(template, "notifier", "sqs:SendMessage") for r in _listed(s["Resource"])]
    assert sorted(_getatt_target(r) for r in resources) == ["NotificationsDLQ", "StatsIngestQueue"]
    env = function_resource(template, "notifier")[1]["Properties"]["Environment"]["Variables"]
    assert env["STATS_INGEST_QUEUE_URL"] == {"Ref": "StatsIngestQueue"}
    assert "EVENTS_TOPIC_ARN" not in env


def test_ai_processor_lists_the_media_bucket_without_a_prefix_condition(template):
    """A HEAD of a missing upload answers 404 only with s3:ListBucket that applies to a request without prefix."""
    media = [s for s in _statements_with(template, "ai-processor", "s3:ListBucket") if s["Resource"] == {"Fn::GetAtt": ["MediaBucket", "Arn"]}]
    assert len(media) == 1 and "Condition" not in media[0]
