"""Compares what the local AWS holds with what infra/template.yaml declares.

The expectations come from the template (resolved with the same parameters the provisioning used);
what exists is read back from moto through boto3. Every declared property of a provisioned
resource type must be checked here: a property this module does not know is reported as drift, so
a template edit without matching provisioning (and checking) fails the test.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tools import provision
from tools.provision import Stack, api_value

Findings = list[str]


def _json(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text


def _normalize(value: Any) -> Any:
    """Numbers and booleans as strings, so 5 and "5" compare equal (APIs return either)."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return api_value(value)


def _unchecked(logical: str, props: dict, checked: set[str]) -> Findings:
    return [f"{logical}: property {p} is declared but neither provisioned nor checked" for p in props if p not in checked]


def _error_code(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)


class Drift:
    def __init__(self, stack: Stack, session: Any) -> None:
        self.stack = stack
        self.session = session
        self.endpoint = os.environ.get("AWS_ENDPOINT_URL")
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.stack.region)
        return self._clients[service]

    # ---- identities that only exist once created (queue URLs, key ids, secret ARNs)

    def bind(self) -> Findings:
        findings: Findings = []
        for logical, spec in self.stack.active_resources().items():
            kind = spec["Type"]
            entry = self.stack.physical[logical]
            try:
                if kind == "AWS::SQS::Queue":
                    url = self.client("sqs").get_queue_url(QueueName=entry["QueueName"])["QueueUrl"]
                    entry.update({"Ref": url, "QueueUrl": url})
                elif kind == "AWS::KMS::Key":
                    alias = self._alias_of(logical)
                    if alias is None:
                        findings.append(f"{logical}: a key without alias cannot be found again locally")
                        continue
                    key_id = self.client("kms").describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
                    entry.update({"Ref": key_id, "KeyId": key_id, "Arn": self.stack.arn("kms", f"key/{key_id}")})
                elif kind == "AWS::SecretsManager::Secret":
                    name = self.stack.resolve(spec["Properties"]["Name"])
                    arn = self.client("secretsmanager").describe_secret(SecretId=name)["ARN"]
                    entry.update({"Ref": arn, "Id": arn})
            except Exception as error:  # any lookup failure is a missing resource
                findings.append(f"{logical}: {kind} not found locally ({_error_code(error)})")
        return findings

    def _alias_of(self, key_logical: str) -> str | None:
        for spec in self.stack.active_resources().values():
            if spec["Type"] == "AWS::KMS::Alias" and key_logical in provision.references(
                spec["Properties"].get("TargetKeyId")
            ):
                return str(self.stack.resolve(spec["Properties"]["AliasName"]))
        return None

    # ---- the comparison

    def findings(self) -> Findings:
        findings = self.bind()
        if findings:
            return findings
        checkers = {
            "AWS::KMS::Key": self.kms_key,
            "AWS::KMS::Alias": self.kms_alias,
            "AWS::S3::Bucket": self.bucket,
            "AWS::S3::BucketPolicy": self.bucket_policy,
            "AWS::SQS::Queue": self.queue,
            "AWS::SQS::QueuePolicy": self.queue_policy,
            "AWS::SNS::Topic": self.topic,
            "AWS::SNS::Subscription": self.subscription,
            "AWS::Events::Rule": self.rule,
            "AWS::Scheduler::Schedule": self.schedule,
            "AWS::SecretsManager::Secret": self.secret,
            "AWS::IAM::Role": self.role,
        }
        missing = set(provision.CREATED_TYPES) - set(checkers)
        findings += [f"no drift check for provisioned type {kind}" for kind in sorted(missing)]
        for logical, spec in self.stack.active_resources().items():
            kind = spec["Type"]
            if kind in provision.LOCAL_SKIP or not provision.served_locally(self.session, kind, self.stack.region):
                continue
            checker = checkers.get(kind)
            if checker is None:
                findings.append(f"{logical}: type {kind} is neither provisioned nor explained in LOCAL_SKIP")
                continue
            try:
                findings += checker(logical, spec.get("Properties", {}))
            except Exception as error:  # a failed read-back is drift, reported with its cause
                findings.append(f"{logical}: {kind} could not be read back ({_error_code(error)}: {error})")
        findings += self.subscription_counts()
        return findings

    def kms_key(self, logical: str, props: dict) -> Findings:
        kms = self.client("kms")
        key_id = self.stack.physical[logical]["KeyId"]
        findings = _unchecked(logical, props, {"Description", "EnableKeyRotation", "KeyPolicy"})
        if "EnableKeyRotation" in props:
            enabled = kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
            if enabled != bool(props["EnableKeyRotation"]):
                findings.append(f"{logical}: key rotation {enabled}, template {props['EnableKeyRotation']}")
        if "KeyPolicy" in props:
            actual = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
            if actual != self.stack.resolve(props["KeyPolicy"]):
                findings.append(f"{logical}: key policy differs")
        return findings

    def kms_alias(self, logical: str, props: dict) -> Findings:
        name = self.stack.resolve(props["AliasName"])
        target = self.stack.resolve(props["TargetKeyId"])
        aliases = self.client("kms").list_aliases(KeyId=target)["Aliases"]
        found = any(a["AliasName"] == name for a in aliases)
        return _unchecked(logical, props, {"AliasName", "TargetKeyId"}) + (
            [] if found else [f"{logical}: alias {name} does not point at {target}"]
        )

    def bucket(self, logical: str, props: dict) -> Findings:
        s3 = self.client("s3")
        name = self.stack.physical[logical]["Ref"]
        p = self.stack.resolve(props)
        findings = _unchecked(
            logical,
            p,
            {
                "BucketName", "BucketEncryption", "VersioningConfiguration", "PublicAccessBlockConfiguration",
                "OwnershipControls", "LoggingConfiguration", "LifecycleConfiguration", "NotificationConfiguration",
            },
        )
        s3.head_bucket(Bucket=name)
        if "BucketEncryption" in p:
            actual = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            expected = [provision.encryption_rule(r) for r in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
            if _normalize([{k: a.get(k) for k in e} for a, e in zip(actual, expected, strict=False)]) != _normalize(expected) or len(actual) != len(expected):
                findings.append(f"{logical}: encryption {actual} != {expected}")
        if "VersioningConfiguration" in p:
            status = s3.get_bucket_versioning(Bucket=name).get("Status")
            if status != p["VersioningConfiguration"]["Status"]:
                findings.append(f"{logical}: versioning {status}, template {p['VersioningConfiguration']['Status']}")
        if "PublicAccessBlockConfiguration" in p:
            actual = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
            if _normalize(actual) != _normalize(p["PublicAccessBlockConfiguration"]):
                findings.append(f"{logical}: public access block {actual}")
        if "OwnershipControls" in p:
            actual = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]
            if actual != p["OwnershipControls"]:
                findings.append(f"{logical}: ownership controls {actual}")
        if "LoggingConfiguration" in p:
            actual = s3.get_bucket_logging(Bucket=name).get("LoggingEnabled", {})
            expected = {
                "TargetBucket": p["LoggingConfiguration"]["DestinationBucketName"],
                "TargetPrefix": p["LoggingConfiguration"].get("LogFilePrefix", ""),
            }
            if {k: actual.get(k) for k in expected} != expected:
                findings.append(f"{logical}: logging {actual}, template {expected}")
        if "LifecycleConfiguration" in p:
            actual = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
            for rule in p["LifecycleConfiguration"]["Rules"]:
                expected = provision.lifecycle_rule(rule)
                got = actual.pop(expected["ID"], None)
                if got is None:
                    findings.append(f"{logical}: lifecycle rule {expected['ID']} missing")
                    continue
                got_prefix = got.get("Filter", {}).get("Prefix", got.get("Prefix", ""))
                if got_prefix != expected["Filter"]["Prefix"]:
                    findings.append(f"{logical}: lifecycle rule {expected['ID']} prefix {got_prefix!r}")
                for key in set(expected) - {"Filter"}:
                    if _normalize(got.get(key)) != _normalize(expected[key]):
                        findings.append(f"{logical}: lifecycle rule {expected['ID']} {key} {got.get(key)} != {expected[key]}")
            findings += [f"{logical}: lifecycle rule {rule_id} is not in the template" for rule_id in actual]
        expected_queues = provision.bucket_notification(p.get("NotificationConfiguration", {})).get("QueueConfigurations", [])
        actual_queues = s3.get_bucket_notification_configuration(Bucket=name).get("QueueConfigurations", [])
        if _notification_set(actual_queues) != _notification_set(expected_queues):
            findings.append(
                f"{logical}: notifications {sorted(_notification_set(actual_queues))} "
                f"!= template {sorted(_notification_set(expected_queues))}"
            )
        return findings

    def bucket_policy(self, logical: str, props: dict) -> Findings:
        p = self.stack.resolve(props)
        actual = json.loads(self.client("s3").get_bucket_policy(Bucket=p["Bucket"])["Policy"])
        findings = _unchecked(logical, p, {"Bucket", "PolicyDocument"})
        if actual != provision.local_bucket_policy(p["PolicyDocument"], self.endpoint):
            findings.append(f"{logical}: bucket policy of {p['Bucket']} differs")
        return findings

    def queue(self, logical: str, props: dict) -> Findings:
        url = self.stack.physical[logical]["QueueUrl"]
        attributes = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        p = self.stack.resolve(props)
        findings = []
        for key, value in p.items():
            if key in ("QueueName", "Tags"):
                continue
            if key not in attributes:
                findings.append(f"{logical}: attribute {key} is not set locally")
            elif key in ("RedrivePolicy", "RedriveAllowPolicy", "Policy"):
                if _normalize(_json(attributes[key])) != _normalize(value):
                    findings.append(f"{logical}: {key} {attributes[key]} != template {json.dumps(value)}")
            elif attributes[key] != api_value(value):
                findings.append(f"{logical}: {key}={attributes[key]}, template {api_value(value)}")
        return findings

    def queue_policy(self, logical: str, props: dict) -> Findings:
        p = self.stack.resolve(props)
        findings = _unchecked(logical, p, {"Queues", "PolicyDocument"})
        for url in p["Queues"]:
            attributes = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
            if _json(attributes.get("Policy")) != p["PolicyDocument"]:
                findings.append(f"{logical}: policy of {url.rsplit('/', 1)[-1]} differs from the template")
        return findings

    def topic(self, logical: str, props: dict) -> Findings:
        arn = self.stack.physical[logical]["TopicArn"]
        attributes = self.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]
        p = self.stack.resolve(props)
        findings = _unchecked(logical, p, {"TopicName", "KmsMasterKeyId", "TracingConfig", "Tags"})
        for key in ("KmsMasterKeyId", "TracingConfig"):
            # moto accepts TracingConfig but does not return it: checked where the local AWS keeps it
            if key in p and key in attributes and attributes[key] != p[key]:
                findings.append(f"{logical}: {key} {attributes.get(key)}, template {p[key]}")
        if "KmsMasterKeyId" in p and "KmsMasterKeyId" not in attributes:
            findings.append(f"{logical}: KmsMasterKeyId not set locally")
        return findings

    def _subscriptions(self, topic_arn: str) -> list[dict]:
        sns = self.client("sns")
        subs, token = [], None
        while True:
            page = sns.list_subscriptions_by_topic(TopicArn=topic_arn, **({"NextToken": token} if token else {}))
            subs += page["Subscriptions"]
            token = page.get("NextToken")
            if not token:
                return subs

    def subscription(self, logical: str, props: dict) -> Findings:
        p = self.stack.resolve(props)
        findings = _unchecked(
            logical, p, {"TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy", "FilterPolicyScope"}
        )
        matches = [
            s for s in self._subscriptions(p["TopicArn"]) if s["Endpoint"] == p["Endpoint"] and s["Protocol"] == p["Protocol"]
        ]
        if len(matches) != 1:
            return [*findings, f"{logical}: {len(matches)} {p['Protocol']} subscription(s) to {p['Endpoint']}, want 1"]
        attributes = self.client("sns").get_subscription_attributes(SubscriptionArn=matches[0]["SubscriptionArn"])[
            "Attributes"
        ]
        want_raw = api_value(p.get("RawMessageDelivery", False))
        if attributes.get("RawMessageDelivery", "false") != want_raw:
            findings.append(f"{logical}: RawMessageDelivery {attributes.get('RawMessageDelivery')}, template {want_raw}")
        if _json(attributes.get("FilterPolicy")) != p.get("FilterPolicy"):
            findings.append(f"{logical}: FilterPolicy {attributes.get('FilterPolicy')} != template {p.get('FilterPolicy')}")
        if "FilterPolicy" in p:
            scope = attributes.get("FilterPolicyScope", "MessageAttributes")
            if scope != p.get("FilterPolicyScope", "MessageAttributes"):
                findings.append(f"{logical}: FilterPolicyScope {scope}")
        return findings

    def subscription_counts(self) -> Findings:
        """No subscription exists locally that the template does not declare."""
        declared: dict[str, int] = {}
        for spec in self.stack.active_resources().values():
            if spec["Type"] == "AWS::SNS::Subscription":
                topic = self.stack.resolve(spec["Properties"]["TopicArn"])
                declared[topic] = declared.get(topic, 0) + 1
        findings = []
        for logical, spec in self.stack.active_resources().items():
            if spec["Type"] != "AWS::SNS::Topic":
                continue
            arn = self.stack.physical[logical]["TopicArn"]
            actual = len(self._subscriptions(arn))
            if actual != declared.get(arn, 0):
                findings.append(f"{logical}: {actual} subscription(s) locally, template declares {declared.get(arn, 0)}")
        return findings

    def rule(self, logical: str, props: dict) -> Findings:
        events = self.client("events")
        p = self.stack.resolve(props)
        findings = _unchecked(logical, p, {"Name", "Description", "EventPattern", "ScheduleExpression", "State", "Targets"})
        actual = events.describe_rule(Name=p["Name"])
        for key in ("Description", "ScheduleExpression", "State"):
            if key in p and actual.get(key) != p[key]:
                findings.append(f"{logical}: {key} {actual.get(key)!r}, template {p[key]!r}")
        if "EventPattern" in p and _json(actual.get("EventPattern")) != p["EventPattern"]:
            findings.append(f"{logical}: EventPattern {actual.get('EventPattern')} != template {p['EventPattern']}")
        targets = {t["Id"]: t for t in events.list_targets_by_rule(Rule=p["Name"])["Targets"]}
        for target in p.get("Targets", []):
            got = targets.pop(target["Id"], None)
            if got is None:
                findings.append(f"{logical}: target {target['Id']} missing")
                continue
            for key, value in target.items():
                if key == "Input":
                    same = _json(got.get(key)) == _json(value)
                else:
                    same = _normalize(got.get(key)) == _normalize(value)
                if not same:
                    findings.append(f"{logical}: target {target['Id']} {key} {got.get(key)} != template {value}")
        findings += [f"{logical}: target {target_id} is not in the template" for target_id in targets]
        return findings

    def schedule(self, logical: str, props: dict) -> Findings:
        p = self.stack.resolve(props)
        findings = _unchecked(logical, p, set(provision.SCHEDULE_PROPERTIES) - {"StartDate", "EndDate", "KmsKeyArn"})
        expected = provision.schedule_request(p)
        actual = self.client("scheduler").get_schedule(Name=expected["Name"], GroupName=expected.get("GroupName", "default"))
        for key, value in expected.items():
            got = actual.get(key)
            if key == "Target":
                want = {k: (_json(v) if k == "Input" else _normalize(v)) for k, v in value.items()}
                have = {k: (_json(got.get(k)) if k == "Input" else _normalize(got.get(k))) for k in value}
                if have != want or set(got) - set(value) - {"EcsParameters", "SqsParameters"}:
                    findings.append(f"{logical}: target {got} != template {value}")
            elif _normalize(got) != _normalize(value):
                findings.append(f"{logical}: {key} {got!r}, template {value!r}")
        return findings

    def secret(self, logical: str, props: dict) -> Findings:
        sm = self.client("secretsmanager")
        p = self.stack.resolve(props)
        findings = _unchecked(logical, p, {"Name", "Description", "KmsKeyId", "GenerateSecretString", "SecretString"})
        described = sm.describe_secret(SecretId=p["Name"])
        for key in ("Description", "KmsKeyId"):
            if key in p and described.get(key) != p[key]:
                findings.append(f"{logical}: {key} {described.get(key)!r}, template {p[key]!r}")
        template_json = p.get("GenerateSecretString", {}).get("SecretStringTemplate")
        if template_json:
            value = json.loads(sm.get_secret_value(SecretId=p["Name"])["SecretString"])
            want = set(json.loads(template_json)) | {p["GenerateSecretString"]["GenerateStringKey"]}
            if not want <= set(value):
                findings.append(f"{logical}: secret value lacks fields {sorted(want - set(value))}")
        return findings

    def role(self, logical: str, props: dict) -> Findings:
        iam = self.client("iam")
        name = self.stack.physical[logical]["Ref"]
        p = self.stack.resolve(props)
        findings = _unchecked(logical, p, {"AssumeRolePolicyDocument", "Description", "Policies", "ManagedPolicyArns"})
        role = iam.get_role(RoleName=name)["Role"]
        if _json(role["AssumeRolePolicyDocument"]) != p["AssumeRolePolicyDocument"]:
            findings.append(f"{logical}: trust policy differs")
        inline = set(iam.list_role_policies(RoleName=name)["PolicyNames"])
        for policy in p.get("Policies", []):
            if policy["PolicyName"] not in inline:
                findings.append(f"{logical}: inline policy {policy['PolicyName']} missing")
                continue
            doc = iam.get_role_policy(RoleName=name, PolicyName=policy["PolicyName"])["PolicyDocument"]
            if _json(doc) != policy["PolicyDocument"]:
                findings.append(f"{logical}: inline policy {policy['PolicyName']} differs")
            inline.discard(policy["PolicyName"])
        findings += [f"{logical}: inline policy {extra} is not in the template" for extra in inline]
        return findings


def _notification_set(entries: list[dict]) -> set[tuple]:
    out = set()
    for entry in entries:
        rules = tuple(
            sorted(
                (r["Name"].lower(), r["Value"])
                for r in entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            )
        )
        out.add((entry["QueueArn"], tuple(sorted(entry["Events"])), rules))
    return out


def env_example_keys(path) -> list[str]:
    """Variable names of a functions/<f>/env.example (`NAME=value   # meaning` lines)."""
    keys = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name = line.split("=", 1)[0].strip()
        if name.startswith("export "):
            name = name[len("export "):].strip()
        keys.append(name)
    return keys
