#!/usr/bin/env python3
"""Provisions the suite on the local AWS (moto at $AWS_ENDPOINT_URL) from infra/template.yaml.

moto's CloudFormation ignores S3 notifications, SNS subscriptions, queue policies and secrets, so
this script reads the SAM template itself (cfn-lint's decoder understands the intrinsic-function
tags), resolves Ref / GetAtt / Sub / If / Join / Select / Split with the template's parameters and
conditions, and creates each resource through its service API:

  KMS keys and aliases, S3 buckets (encryption, versioning, public access block, lifecycle,
  ownership, logging, policy, notifications), SQS queues (attributes, redrive, queue policies),
  SNS topics and subscriptions (filter policies, raw delivery), EventBridge rules and targets,
  EventBridge Scheduler schedules, Secrets Manager secrets (sample local values) and IAM roles.

Functions are not created: they run locally under `cargo lambda`; the output gives each one the
environment it should run with (the template's Environment, Globals included, refs resolved),
its SQS event sources and its schedules.

  python -m tools.provision [--prefix NAME] [--environment dev] [--param Key=Value ...] [--out FILE]

Running it again with the same prefix reuses what exists. Needs boto3 (installed with moto).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "infra" / "template.yaml"

# Resource types this script creates on the local AWS.
CREATED_TYPES = (
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::Events::Rule",
    "AWS::Scheduler::Schedule",
    "AWS::SecretsManager::Secret",
    "AWS::IAM::Role",
)

# Resource types declared in the template but deliberately not created locally, and why.
LOCAL_SKIP = {
    "AWS::Serverless::Function": "runs locally under cargo lambda; its environment is in the output",
    "AWS::Lambda::Permission": "local functions are invoked by cargo lambda, not by AWS services",
    "AWS::Logs::LogGroup": "local functions log to their terminal",
    "AWS::CloudWatch::Alarm": "no Lambda or SQS metrics are emitted locally, an alarm could never fire",
    "AWS::Glue::Database": "queries run locally with DuckDB over the raw objects (make query), not through moto's Glue",
    "AWS::Glue::Table": "queries run locally with DuckDB over the raw objects (make query), not through moto's Glue",
    "AWS::Athena::WorkGroup": "moto's Athena runs no SQL; the same named queries run locally with DuckDB",
    "AWS::Athena::NamedQuery": "moto's Athena runs no SQL; the SQL is in infra/queries/ for DuckDB",
    "AWS::XRay::ResourcePolicy": "moto's X-Ray keeps no resource policies and SNS sends it no segments locally",
    "AWS::CloudWatch::Dashboard": "no Lambda, SQS or EMF metrics exist locally for it to show",
    "AWS::Lambda::Url": "local functions are reached through cargo lambda (invoke / watch), not a function URL",
}

MOTO_ACCOUNT = "123456789012"

# Resource type -> the service that must serve the region for it to be created locally. moto serves
# a service only in the regions botocore lists for it: EventBridge Scheduler exists in aws-cn
# (CloudFormation has AWS::Scheduler::Schedule in cn-northwest-1) but botocore lists no aws-cn
# region for it, so moto cannot create schedules there.
REGIONAL_SERVICE = {"AWS::Scheduler::Schedule": "scheduler"}


def served_locally(session: Any, kind: str, region: str) -> bool:
    service = REGIONAL_SERVICE.get(kind)
    if service is None:
        return True
    return region in session.get_available_regions(service, partition_name=partition_of(region))


class TemplateError(Exception):
    """The template uses something this script cannot resolve or create."""


# --------------------------------------------------------------------------- template model


def load_template(path: Path | str = DEFAULT_TEMPLATE) -> dict:
    from cfnlint.decode import decode

    template, matches = decode(str(path))
    if matches or template is None:
        raise TemplateError(f"cannot parse {path}: {[str(m) for m in matches]}")
    return plain(template)


def plain(value: Any) -> Any:
    """cfn-lint's node classes -> plain dicts, lists and scalars."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def partition_of(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws"


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def function_package(code_uri: str) -> str:
    """`../target/lambda/<package>/bootstrap.zip` -> `<package>`."""
    parts = Path(code_uri).parts
    if len(parts) >= 2 and parts[-1] == "bootstrap.zip":
        return parts[-2]
    raise TemplateError(f"CodeUri {code_uri!r} is not a cargo lambda zip (target/lambda/<name>/bootstrap.zip)")


class NoValue:
    """AWS::NoValue: removes the key or list item it stands in."""


NO_VALUE = NoValue()


class Stack:
    """The template with parameters, conditions and each resource's physical identity."""

    def __init__(
        self,
        template: dict,
        *,
        name_prefix: str,
        environment: str,
        region: str,
        account: str = MOTO_ACCOUNT,
        overrides: dict[str, str] | None = None,
    ) -> None:
        self.template = template
        self.region = region
        self.account = account
        self.partition = partition_of(region)
        overrides = dict(overrides or {})
        overrides.setdefault("NamePrefix", name_prefix)
        overrides.setdefault("Environment", environment)
        self.parameters = self._parameters(overrides)
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": f"{self.parameters['NamePrefix']}-{self.parameters['Environment']}",
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{region}:{account}:stack/local",
            "AWS::NoValue": NO_VALUE,
        }
        self.conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.condition(name)
        self._check_rules()
        # logical id -> {"Ref": ..., "<Attr>": ...}; filled by plan() and by creation
        self.physical: dict[str, dict[str, Any]] = {}
        self.plan()

    # ---- parameters, conditions, rules

    def _parameters(self, overrides: dict[str, str]) -> dict[str, Any]:
        declared = self.template.get("Parameters", {})
        unknown = set(overrides) - set(declared)
        if unknown:
            raise TemplateError(f"unknown parameters: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        problems = []
        for name, spec in declared.items():
            if name in overrides:
                value = overrides[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                problems.append(f"parameter {name} has no default: pass --param {name}=...")
                continue
            value = str(value)
            allowed = spec.get("AllowedValues")
            if allowed is not None and value not in [str(a) for a in allowed]:
                problems.append(f"parameter {name}={value!r} is not one of {allowed}")
            pattern = spec.get("AllowedPattern")
            if pattern and not re.fullmatch(pattern, value):
                problems.append(f"parameter {name}={value!r} does not match {pattern}")
            values[name] = value
        if problems:
            raise TemplateError("; ".join(problems))
        return values

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            spec = self.template.get("Conditions", {}).get(name)
            if spec is None:
                raise TemplateError(f"unknown condition {name}")
            self.conditions[name] = bool(self._boolean(spec))
        return self.conditions[name]

    def _boolean(self, expr: Any) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            (fn, arg), = expr.items()
            if fn == "Fn::Equals":
                left, right = (self._scalar(a) for a in arg)
                return str(left) == str(right)
            if fn == "Fn::And":
                return all(self._boolean(a) for a in arg)
            if fn == "Fn::Or":
                return any(self._boolean(a) for a in arg)
            if fn == "Fn::Not":
                return not self._boolean(arg[0])
            if fn == "Condition":
                return self.condition(arg)
            if fn == "Fn::Contains":
                haystack, needle = arg
                return self._scalar(needle) in [self._scalar(h) for h in haystack]
        raise TemplateError(f"unsupported condition expression {expr!r}")

    def _scalar(self, expr: Any) -> Any:
        if isinstance(expr, dict) and list(expr) == ["Ref"]:
            return self._ref_value(expr["Ref"], allow_resources=False)
        if isinstance(expr, dict):
            return self._boolean(expr)
        return expr

    def _check_rules(self) -> None:
        """Every failed rule assertion, reported together (as CloudFormation refuses the deploy)."""
        failed = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self._boolean(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []):
                if not self._boolean(assertion["Assert"]):
                    failed.append(f"rule {name}: {assertion.get('AssertDescription', 'assertion failed')}")
        if failed:
            raise TemplateError("; ".join(failed))

    # ---- resources

    def active_resources(self) -> dict[str, dict]:
        return {
            logical: spec
            for logical, spec in self.template.get("Resources", {}).items()
            if "Condition" not in spec or self.condition(spec["Condition"])
        }

    def function_globals(self) -> dict:
        return self.template.get("Globals", {}).get("Function", {})

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return ":".join(
            ["arn", self.partition, service, self.region if region else "", self.account if account else "", resource]
        )

    def plan(self) -> None:
        """Physical names and the attributes that follow from them, before anything exists."""
        for logical, spec in self.active_resources().items():
            kind = spec["Type"]
            props = spec.get("Properties", {})

            def name_from(prop: str, default: str | None = None, props: dict = props, logical: str = logical) -> str:
                if prop in props:
                    return str(self.resolve(props[prop]))
                return default if default is not None else f"{self.pseudo['AWS::StackName']}-{logical}"

            entry: dict[str, Any] = {}
            if kind == "AWS::S3::Bucket":
                name = name_from("BucketName", f"{self.pseudo['AWS::StackName']}-{kebab(logical)}")
                entry = {"Ref": name, "Arn": f"arn:{self.partition}:s3:::{name}", "DomainName": f"{name}.s3.{self.pseudo['AWS::URLSuffix']}"}
            elif kind == "AWS::SQS::Queue":
                name = name_from("QueueName")
                entry = {"QueueName": name, "Arn": self.arn("sqs", name)}
            elif kind == "AWS::SNS::Topic":
                name = name_from("TopicName")
                entry = {"Ref": self.arn("sns", name), "TopicArn": self.arn("sns", name), "TopicName": name}
            elif kind == "AWS::Events::Rule":
                name = name_from("Name")
                entry = {"Ref": name, "Arn": self.arn("events", f"rule/{name}")}
            elif kind == "AWS::Scheduler::Schedule":
                name = name_from("Name")
                group = str(self.resolve(props.get("GroupName", "default")))
                entry = {"Ref": name, "Arn": self.arn("scheduler", f"schedule/{group}/{name}")}
            elif kind == "AWS::IAM::Role":
                name = name_from("RoleName", f"{self.pseudo['AWS::StackName']}-{logical}"[:64])
                entry = {"Ref": name, "Arn": self.arn("iam", f"role/{name}", region=False)}
            elif kind == "AWS::Serverless::Function":
                name = name_from("FunctionName")
                entry = {"Ref": name, "Arn": self.arn("lambda", f"function:{name}")}
                alias = props.get("AutoPublishAlias", self.function_globals().get("AutoPublishAlias"))
                if alias:  # SAM's `!Ref <Function>.Alias`: the alias ARN
                    entry["Alias"] = f"{entry['Arn']}:{self.resolve(alias)}"
            elif kind == "AWS::Logs::LogGroup":
                name = name_from("LogGroupName")
                entry = {"Ref": name, "Arn": self.arn("logs", f"log-group:{name}:*")}
            elif kind == "AWS::KMS::Alias":
                entry = {"Ref": name_from("AliasName")}
            elif kind == "AWS::CloudWatch::Alarm":
                name = name_from("AlarmName")
                entry = {"Ref": name, "Arn": self.arn("cloudwatch", f"alarm:{name}")}
            # KMS keys, queues' URLs, secrets and subscriptions get their identity when created.
            self.physical[logical] = entry

    # ---- intrinsic functions

    def _ref_value(self, name: str, *, allow_resources: bool = True) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if allow_resources and name.endswith(".Alias") and name[: -len(".Alias")] in self.physical:
            value = self.physical[name[: -len(".Alias")]].get("Alias")
            if value is None:
                raise TemplateError(f"Ref {name}: the function has no AutoPublishAlias")
            return value
        if allow_resources and name in self.physical:
            value = self.physical[name].get("Ref")
            if value is None:
                raise Unresolved(name, "Ref")
            return value
        raise TemplateError(f"Ref to unknown or inactive name {name}")

    def _get_att(self, logical: str, attribute: str) -> Any:
        if logical not in self.physical:
            raise TemplateError(f"GetAtt on unknown or inactive resource {logical}")
        value = self.physical[logical].get(attribute)
        if value is None:
            raise Unresolved(logical, attribute)
        return value

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            handler = self._intrinsics().get(key)
            if handler is not None:
                return handler(arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _intrinsics(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": lambda arg: self._ref_value(arg),
            "Fn::GetAtt": self._fn_get_att,
            "Fn::Sub": self._fn_sub,
            "Fn::If": lambda arg: self.resolve(arg[1] if self.condition(arg[0]) else arg[2]),
            "Fn::Join": lambda arg: str(self.resolve(arg[0])).join(str(v) for v in self.resolve(arg[1])),
            "Fn::Select": lambda arg: self.resolve(arg[1])[int(self.resolve(arg[0]))],
            "Fn::Split": lambda arg: str(self.resolve(arg[1])).split(str(self.resolve(arg[0]))),
            "Fn::ToJsonString": lambda arg: json.dumps(self.resolve(arg), separators=(",", ":")),
            "Fn::Equals": lambda arg: self._boolean({"Fn::Equals": arg}),
            "Condition": lambda arg: self.condition(arg),
        }

    def _fn_get_att(self, arg: Any) -> Any:
        if isinstance(arg, str):
            logical, attribute = arg.split(".", 1)
        else:
            logical, attribute = arg[0], self.resolve(arg[1])
        return self._get_att(logical, attribute)

    def _fn_sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(variables[token])
            if "." in token and token.split(".", 1)[0] in self.physical:
                return str(self._get_att(*token.split(".", 1)))
            return str(self._ref_value(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


class Unresolved(TemplateError):
    """A reference to something that has no identity yet (created later)."""

    def __init__(self, logical: str, attribute: str) -> None:
        super().__init__(f"{logical}.{attribute} is not known yet")
        self.logical = logical


def references(value: Any) -> set[str]:
    """Logical ids (and names) a property value refers to."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= references(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg.removesuffix(".Alias"))  # SAM's <Function>.Alias is the function's alias
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                for token in re.findall(r"\$\{([^!][^}]*)\}", text):
                    found.add(token.split(".", 1)[0])
                if isinstance(arg, list):
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return found


# --------------------------------------------------------------------------- creation


class Provisioner:
    def __init__(self, stack: Stack, session: Any, log: Callable[[str], None] = print) -> None:
        self.stack = stack
        self.session = session
        self.log = log
        self.clients: dict[str, Any] = {}
        self.created: list[str] = []
        self.not_served: dict[str, str] = {}  # logical id -> why the local AWS cannot create it

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self.session.client(service, region_name=self.stack.region)
        return self.clients[service]

    def order(self) -> list[str]:
        """Creation order: dependencies first; bucket notifications wait for their queues."""
        resources = self.stack.active_resources()
        deps: dict[str, set[str]] = {}
        for logical, spec in resources.items():
            props = dict(spec.get("Properties", {}))
            if spec["Type"] == "AWS::S3::Bucket":
                props.pop("NotificationConfiguration", None)  # applied after everything else
            if spec["Type"] == "AWS::Serverless::Function":
                # SAM turns it into a CodeDeploy deployment group of its own, which waits for the
                # alarms; the function itself does not (the alarms refer to the function).
                props.pop("DeploymentPreference", None)
            needed = references(props) | set(_as_list(spec.get("DependsOn")))
            deps[logical] = {d for d in needed if d in resources and d != logical}
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(node: str) -> None:
            if node in ordered:
                return
            if node in visiting:
                raise TemplateError(f"circular reference through {node}")
            visiting.add(node)
            for dep in sorted(deps[node]):
                visit(dep)
            visiting.discard(node)
            ordered.append(node)

        for logical in resources:
            visit(logical)
        return ordered

    def run(self) -> None:
        resources = self.stack.active_resources()
        unknown = sorted(
            {spec["Type"] for spec in resources.values()} - set(CREATED_TYPES) - set(LOCAL_SKIP)
        )
        if unknown:
            raise TemplateError(
                "the template declares resource types tools/provision.py cannot create locally: "
                + ", ".join(unknown)
            )
        creators = {
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
        for logical in self.order():
            spec = resources[logical]
            creator = creators.get(spec["Type"])
            if creator is None:
                self.log(f"not created  {logical} ({spec['Type']}): {LOCAL_SKIP[spec['Type']]}")
                continue
            if not served_locally(self.session, spec["Type"], self.stack.region):
                reason = f"moto serves no {REGIONAL_SERVICE[spec['Type']]} in {self.stack.region}"
                self.not_served[logical] = reason
                self.log(f"not created  {logical} ({spec['Type']}): {reason}")
                continue
            props = spec.get("Properties", {})
            creator(logical, props)
            self.created.append(logical)
        for logical, spec in resources.items():
            if spec["Type"] == "AWS::S3::Bucket" and "NotificationConfiguration" in spec.get("Properties", {}):
                self.bucket_notifications(logical, spec["Properties"]["NotificationConfiguration"])

    # ---- KMS

    def kms_key(self, logical: str, props: dict) -> None:
        kms = self.client("kms")
        alias = self._alias_for(logical)
        key_id = None
        if alias:
            try:
                key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
            except kms.exceptions.NotFoundException:
                key_id = None
        if key_id is None:
            args = {"Description": str(self.stack.resolve(props.get("Description", logical)))}
            if "KeyPolicy" in props:
                args["Policy"] = json.dumps(self.stack.resolve(props["KeyPolicy"]))
            key_id = kms.create_key(**args)["KeyMetadata"]["KeyId"]
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key_id)
        self.stack.physical[logical] = {
            "Ref": key_id,
            "KeyId": key_id,
            "Arn": self.stack.arn("kms", f"key/{key_id}"),
        }
        self.log(f"kms key      {logical}: {key_id}")

    def _alias_for(self, key_logical: str) -> str | None:
        for spec in self.stack.active_resources().values():
            if spec["Type"] == "AWS::KMS::Alias" and key_logical in references(spec["Properties"].get("TargetKeyId")):
                return str(self.stack.resolve(spec["Properties"]["AliasName"]))
        return None

    def kms_alias(self, logical: str, props: dict) -> None:
        kms = self.client("kms")
        name = str(self.stack.resolve(props["AliasName"]))
        target = str(self.stack.resolve(props["TargetKeyId"]))
        try:
            kms.create_alias(AliasName=name, TargetKeyId=target)
        except kms.exceptions.AlreadyExistsException:
            kms.update_alias(AliasName=name, TargetKeyId=target)

    # ---- S3

    def bucket(self, logical: str, props: dict) -> None:
        s3 = self.client("s3")
        name = self.stack.physical[logical]["Ref"]
        args: dict[str, Any] = {"Bucket": name}
        if self.stack.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.stack.region}
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(**args)
        p = self.stack.resolve({k: v for k, v in props.items() if k != "NotificationConfiguration"})
        if "OwnershipControls" in p:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
        if "BucketEncryption" in p:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [encryption_rule(r) for r in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
                },
            )
        if "VersioningConfiguration" in p:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=p["VersioningConfiguration"])
        if "PublicAccessBlockConfiguration" in p:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
            )
        if "LifecycleConfiguration" in p:
            s3.put_bucket_lifecycle_configuration(
                Bucket=name,
                LifecycleConfiguration={"Rules": [lifecycle_rule(r) for r in p["LifecycleConfiguration"]["Rules"]]},
            )
        if "LoggingConfiguration" in p:
            logging = p["LoggingConfiguration"]
            s3.put_bucket_logging(
                Bucket=name,
                BucketLoggingStatus={
                    "LoggingEnabled": {
                        "TargetBucket": logging["DestinationBucketName"],
                        "TargetPrefix": logging.get("LogFilePrefix", ""),
                    }
                },
            )
        self.log(f"bucket       {logical}: {name}")

    def bucket_policy(self, logical: str, props: dict) -> None:
        p = self.stack.resolve(props)
        document = local_bucket_policy(p["PolicyDocument"], os.environ.get("AWS_ENDPOINT_URL"))
        self.client("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(document))

    def bucket_notifications(self, logical: str, config: dict) -> None:
        name = self.stack.physical[logical]["Ref"]
        notification = bucket_notification(self.stack.resolve(config))
        self.client("s3").put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration=notification
        )
        self.log(f"notification {logical}: {len(notification.get('QueueConfigurations', []))} queue rule(s)")

    # ---- SQS

    def queue(self, logical: str, props: dict) -> None:
        sqs = self.client("sqs")
        p = self.stack.resolve(props)
        name = p.pop("QueueName")
        p.pop("Tags", None)
        attributes = queue_attributes(p)
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        # create_queue keeps an existing queue's attributes; make a re-run converge on the template.
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        self.stack.physical[logical].update({"Ref": url, "QueueUrl": url})
        self.log(f"queue        {logical}: {name}")

    def queue_policy(self, logical: str, props: dict) -> None:
        sqs = self.client("sqs")
        p = self.stack.resolve(props)
        for url in p["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])})

    # ---- SNS

    def topic(self, logical: str, props: dict) -> None:
        sns = self.client("sns")
        p = self.stack.resolve(props)
        name = p.pop("TopicName")
        p.pop("Tags", None)
        attributes = {k: str(v) for k, v in p.items()}
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        self.stack.physical[logical].update({"Ref": arn, "TopicArn": arn})
        self.log(f"topic        {logical}: {name}")

    def subscription(self, logical: str, props: dict) -> None:
        sns = self.client("sns")
        p = self.stack.resolve(props)
        attributes = subscription_attributes(p)
        arn = sns.subscribe(
            TopicArn=p["TopicArn"],
            Protocol=p["Protocol"],
            Endpoint=p["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        for key, value in attributes.items():  # subscribe() reuses an existing subscription as it was
            sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName=key, AttributeValue=value)
        self.stack.physical[logical] = {"Ref": arn}
        self.log(f"subscription {logical}: {p['Protocol']} {p['Endpoint'].rsplit(':', 1)[-1]}")

    # ---- EventBridge

    def rule(self, logical: str, props: dict) -> None:
        events = self.client("events")
        p = self.stack.resolve(props)
        args: dict[str, Any] = {"Name": p["Name"], "State": p.get("State", "ENABLED")}
        for key in ("Description", "ScheduleExpression", "EventBusName", "RoleArn"):
            if key in p:
                args[key] = p[key]
        if "EventPattern" in p:
            args["EventPattern"] = json.dumps(p["EventPattern"])
        events.put_rule(**args)
        targets = [rule_target(t) for t in p.get("Targets", [])]
        if targets:
            events.put_targets(Rule=p["Name"], Targets=targets)
        self.log(f"rule         {logical}: {p['Name']}")

    # ---- EventBridge Scheduler

    def schedule(self, logical: str, props: dict) -> None:
        scheduler = self.client("scheduler")
        args = schedule_request(self.stack.resolve(props))
        try:
            scheduler.create_schedule(**args)
        except scheduler.exceptions.ConflictException:
            scheduler.update_schedule(**args)  # a re-run converges on the template
        self.log(f"schedule     {logical}: {args['Name']} {args['ScheduleExpression']} {args.get('ScheduleExpressionTimezone', 'UTC')}")

    # ---- Secrets Manager

    def secret(self, logical: str, props: dict) -> None:
        sm = self.client("secretsmanager")
        p = self.stack.resolve(props)
        value = local_secret_value(p)
        args = {"Name": p["Name"], "SecretString": value}
        if "Description" in p:
            args["Description"] = p["Description"]
        if "KmsKeyId" in p:
            args["KmsKeyId"] = p["KmsKeyId"]
        try:
            arn = sm.create_secret(**args)["ARN"]
        except sm.exceptions.ResourceExistsException:
            arn = sm.describe_secret(SecretId=p["Name"])["ARN"]  # keep the value someone set
        self.stack.physical[logical] = {"Ref": arn, "Id": arn}
        self.log(f"secret       {logical}: {p['Name']}")

    # ---- IAM

    def role(self, logical: str, props: dict) -> None:
        iam = self.client("iam")
        p = self.stack.resolve(props)
        name = self.stack.physical[logical]["Ref"]
        try:
            iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]),
                Description=p.get("Description", logical),
            )
        except iam.exceptions.EntityAlreadyExistsException:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]))
        for policy in p.get("Policies", []):
            iam.put_role_policy(
                RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"])
            )
        for arn in p.get("ManagedPolicyArns", []):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- CloudFormation -> API shapes
# (shared with tools/tests, which compare what moto holds with what the template declares)


def api_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def queue_attributes(props: dict) -> dict[str, str]:
    """SQS properties (QueueName and Tags removed) -> SetQueueAttributes attributes."""
    return {key: api_value(value) for key, value in props.items()}


def subscription_attributes(props: dict) -> dict[str, str]:
    """Subscription properties -> Subscribe attributes."""
    keys = ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy", "DeliveryPolicy")
    return {key: api_value(props[key]) for key in keys if key in props}


def encryption_rule(rule: dict) -> dict:
    """BucketEncryption rule -> PutBucketEncryption rule (the API prefixes the default with Apply)."""
    out = {}
    if "ServerSideEncryptionByDefault" in rule:
        out["ApplyServerSideEncryptionByDefault"] = rule["ServerSideEncryptionByDefault"]
    if "BucketKeyEnabled" in rule:
        out["BucketKeyEnabled"] = bool(rule["BucketKeyEnabled"])
    return out


def local_bucket_policy(document: dict, endpoint: str | None) -> dict:
    """The bucket policy as applied locally.

    moto enforces the TLS-only statement (aws:SecureTransport false -> deny) but serves plain
    http on 127.0.0.1, so that one statement would lock every local client out. It is left out
    when the endpoint is http; everything else is applied as declared.
    """
    if not (endpoint or "").startswith("http://"):
        return document

    def tls_only(statement: dict) -> bool:
        return (
            statement.get("Effect") == "Deny"
            and str(statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"
        )

    return {**document, "Statement": [s for s in document["Statement"] if not tls_only(s)]}


def lifecycle_rule(rule: dict) -> dict:
    """One AWS::S3::Bucket LifecycleConfiguration rule -> PutBucketLifecycleConfiguration rule."""
    known = {
        "Id", "Status", "Prefix", "ExpirationInDays", "Transitions", "NoncurrentVersionExpiration",
        "AbortIncompleteMultipartUpload",
    }
    unknown = set(rule) - known
    if unknown:
        raise TemplateError(f"lifecycle rule {rule.get('Id')}: cannot provision {sorted(unknown)}")
    out: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "Transitions" in rule:
        out["Transitions"] = [
            {"Days": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]} for t in rule["Transitions"]
        ]
    if "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    return out


def bucket_notification(config: dict) -> dict:
    """NotificationConfiguration -> PutBucketNotificationConfiguration body (queues only)."""
    unknown = set(config) - {"QueueConfigurations"}
    if unknown:
        raise TemplateError(f"bucket notifications: cannot provision {sorted(unknown)}")
    queues = []
    for entry in config.get("QueueConfigurations", []):
        out: dict[str, Any] = {"QueueArn": entry["Queue"], "Events": [entry["Event"]]}
        rules = entry.get("Filter", {}).get("S3Key", {}).get("Rules")
        if rules:
            out["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}
        queues.append(out)
    return {"QueueConfigurations": queues}


def rule_target(target: dict) -> dict:
    """AWS::Events::Rule target -> PutTargets target."""
    known = {"Id", "Arn", "Input", "InputPath", "RetryPolicy", "DeadLetterConfig", "RoleArn"}
    unknown = set(target) - known
    if unknown:
        raise TemplateError(f"rule target {target.get('Id')}: cannot provision {sorted(unknown)}")
    return dict(target)


SCHEDULE_PROPERTIES = (
    "Name", "GroupName", "Description", "ScheduleExpression", "ScheduleExpressionTimezone",
    "FlexibleTimeWindow", "State", "Target", "StartDate", "EndDate", "KmsKeyArn",
)


def schedule_request(props: dict) -> dict:
    """AWS::Scheduler::Schedule properties -> CreateSchedule / UpdateSchedule arguments (same names)."""
    unknown = set(props) - set(SCHEDULE_PROPERTIES)
    if unknown:
        raise TemplateError(f"schedule {props.get('Name')}: cannot provision {sorted(unknown)}")
    target_keys = {"Arn", "RoleArn", "Input", "RetryPolicy", "DeadLetterConfig"}
    extra = set(props["Target"]) - target_keys
    if extra:
        raise TemplateError(f"schedule {props.get('Name')} target: cannot provision {sorted(extra)}")
    return dict(props)


def local_secret_value(props: dict) -> str:
    """The secret's local sample value: SecretString, or the generator's template with a sample key."""
    if "SecretString" in props:
        return str(props["SecretString"])
    generate = props.get("GenerateSecretString", {})
    if "SecretStringTemplate" in generate:
        value = json.loads(generate["SecretStringTemplate"])
        value[generate["GenerateStringKey"]] = "local-sample-" + generate["GenerateStringKey"]
        return json.dumps(value)
    return "local-sample-secret"


# --------------------------------------------------------------------------- functions


def function_environment(stack: Stack, props: dict) -> dict[str, str]:
    """Globals' Environment merged with the function's, refs resolved, as strings."""
    variables = dict(stack.function_globals().get("Environment", {}).get("Variables", {}))
    variables.update(props.get("Environment", {}).get("Variables", {}))
    return {key: api_value(stack.resolve(value)) for key, value in variables.items()}


def functions_report(stack: Stack) -> dict[str, dict]:
    resources = stack.active_resources()
    report: dict[str, dict] = {}
    for logical, spec in resources.items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        props = spec["Properties"]
        package = function_package(str(props["CodeUri"]))
        sources = []
        for event_name, event in props.get("Events", {}).items():
            if event["Type"] != "SQS":
                raise TemplateError(f"{logical}.{event_name}: event type {event['Type']} is not provisioned locally")
            queue_logical = references(event["Properties"]["Queue"]).pop()
            sources.append(
                {
                    "event": event_name,
                    "queue": queue_logical,
                    "queue_url": stack.physical[queue_logical]["QueueUrl"],
                    "queue_arn": stack.resolve(event["Properties"]["Queue"]),
                    "batch_size": event["Properties"].get("BatchSize", 10),
                    "report_batch_item_failures": "ReportBatchItemFailures"
                    in event["Properties"].get("FunctionResponseTypes", []),
                }
            )
        schedules = []
        for rule_logical, rule in resources.items():
            if rule["Type"] == "AWS::Events::Rule":
                targets = rule["Properties"].get("Targets", [])
            elif rule["Type"] == "AWS::Scheduler::Schedule":
                targets = [rule["Properties"]["Target"]]
            else:
                continue
            for target in targets:
                if logical in references(target.get("Arn")):
                    schedule_input = stack.resolve(target["Input"]) if "Input" in target else None
                    schedules.append(
                        {
                            "rule": rule_logical,
                            "name": stack.physical[rule_logical]["Ref"],
                            "arn": stack.physical[rule_logical]["Arn"],
                            "schedule": rule["Properties"].get("ScheduleExpression"),
                            "timezone": stack.resolve(rule["Properties"].get("ScheduleExpressionTimezone", "UTC")),
                            "input": json.loads(schedule_input) if schedule_input is not None else None,
                        }
                    )
        logging = stack.resolve({**stack.function_globals().get("LoggingConfig", {}), **props.get("LoggingConfig", {})})
        report[package] = {
            "logical_id": logical,
            "function_name": stack.physical[logical]["Ref"],
            "alias_arn": stack.physical[logical].get("Alias"),
            "deployment": stack.resolve(props.get("DeploymentPreference", {}).get("Type")),
            "logging": logging,
            "memory_mb": props.get("MemorySize", stack.function_globals().get("MemorySize")),
            "timeout_s": props.get("Timeout", stack.function_globals().get("Timeout")),
            "environment": function_environment(stack, props),
            "sqs_event_sources": sources,
            "schedules": schedules,
        }
    return report


def outputs(stack: Stack, endpoint: str | None, not_served: dict[str, str] | None = None) -> dict:
    resources = stack.active_resources()
    return {
        "stack_name": stack.pseudo["AWS::StackName"],
        "region": stack.region,
        "account": stack.account,
        "partition": stack.partition,
        "endpoint_url": endpoint,
        "parameters": stack.parameters,
        "conditions": stack.conditions,
        "resources": {
            logical: {"type": spec["Type"], **stack.physical.get(logical, {})}
            for logical, spec in resources.items()
            if spec["Type"] in CREATED_TYPES and logical not in (not_served or {})
        },
        "not_created_locally": {
            **{logical: LOCAL_SKIP[spec["Type"]] for logical, spec in resources.items() if spec["Type"] in LOCAL_SKIP},
            **(not_served or {}),
        },
        "functions": functions_report(stack),
    }


# --------------------------------------------------------------------------- entry point


def provision(
    *,
    prefix: str,
    environment: str = "dev",
    overrides: dict[str, str] | None = None,
    template_path: Path | str = DEFAULT_TEMPLATE,
    log: Callable[[str], None] = print,
) -> dict:
    import boto3

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise SystemExit("provision: AWS_ENDPOINT_URL is not set; run under tools/with-moto.sh or eval \"$(tools/moto.sh env)\"")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region)
    account = session.client("sts").get_caller_identity()["Account"]
    stack = Stack(
        load_template(template_path),
        name_prefix=prefix,
        environment=environment,
        region=region,
        account=account,
        overrides=overrides,
    )
    provisioner = Provisioner(stack, session, log=log)
    provisioner.run()
    return outputs(stack, endpoint, provisioner.not_served)


def parse_params(items: list[str]) -> dict[str, str]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"provision: --param {item!r} is not Key=Value")
        params[key] = value
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", default="media-suite", help="NamePrefix of every physical name (default media-suite)")
    parser.add_argument("--environment", "--env", default="dev", choices=["dev", "staging", "prod"])
    parser.add_argument("--param", action="append", default=[], metavar="Key=Value", help="template parameter override")
    parser.add_argument("--template", default=str(DEFAULT_TEMPLATE))
    parser.add_argument("--out", help="write the logical id -> physical identity map and function environments here")
    parser.add_argument("--env-dir", help="also write <function>.env files (for cargo lambda --env-file) here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    log = (lambda _line: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    try:
        result = provision(
            prefix=args.prefix,
            environment=args.environment,
            overrides=parse_params(args.param),
            template_path=args.template,
            log=log,
        )
    except TemplateError as error:
        print(f"provision: {error}", file=sys.stderr)
        return 1
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
        log(f"provision: wrote {args.out}")
    else:
        print(text)
    if args.env_dir:
        write_env_files(result, Path(args.env_dir))
        log(f"provision: wrote {args.env_dir}/<function>.env")
    return 0


def lambda_logging_environment(logging: dict) -> dict[str, str]:
    """What Lambda itself sets from a function's LoggingConfig (the code reads AWS_LAMBDA_LOG_LEVEL)."""
    env = {}
    if "LogFormat" in logging:
        env["AWS_LAMBDA_LOG_FORMAT"] = str(logging["LogFormat"])
    if logging.get("LogFormat") == "JSON" and "ApplicationLogLevel" in logging:
        env["AWS_LAMBDA_LOG_LEVEL"] = str(logging["ApplicationLogLevel"])
    return env


def write_env_files(result: dict, directory: Path) -> None:
    """One dotenv file per function: its template environment, what Lambda adds from the
    LoggingConfig, and the local endpoint. Values are single-quoted so JSON settings (budgets,
    rules) are read literally."""
    directory.mkdir(parents=True, exist_ok=True)
    local = {k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION") if k in os.environ}
    for name, function in result.get("functions", {}).items():
        env = dict(function.get("environment", {}), **lambda_logging_environment(function.get("logging", {})), **local)
        (directory / f"{name}.env").write_text("".join(f"{k}='{v}'\n" for k, v in sorted(env.items())))


if __name__ == "__main__":
    sys.exit(main())
