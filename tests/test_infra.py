"""The azd template (azure.yaml, infra/) against the code it deploys, read with a Bicep parser (tools/bicep.py).

Neither the Bicep CLI nor azd runs here, and nothing reaches Azure (docs/deploy.md says what that leaves unproven).
These tests hold the template to the code instead: the app settings are names that the app or the host reads and
the ones it needs, with values `Settings` accepts; the webhook names a function the app registers, as an Event Grid
blob trigger on the container the subscription filters; the role assignments are docs/deploy.md's table; the instance
memory matches host.json and the page's plan. Each check is also fed a drifted copy of the template and must say so.

pycep-parser renders a reference to a parameter and a string literal of the same text alike; `Template.resolve`
reads a string that names a parameter or variable in scope as that reference (the template never uses a literal
that equals one of its names).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from bench.cost_model import PUBLISHED
from tests.conftest import ROOT
from tests.support.worker import blob_trigger_blueprint, indexed
from tools import bicep, package, smoke
from videoanalysis.settings import Settings
from videoanalysis.storage import blob_service_from_env

HOST_SETTINGS = {
    # Read by the Functions host, not by the app's code: identity-based AzureWebJobsStorage (the app's own storage
    # code reads these three too: videoanalysis/storage.py) and Application Insights with Microsoft Entra auth.
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
FLEX_FORBIDDEN = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"}
"""Flex Consumption takes the runtime and the package from functionAppConfig and refuses these app settings."""
SETTING_NAMES = {name.upper() for name in Settings().to_dict()}
BLOB_CREATING_APIS = {"PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose"}
SCOPES = {
    "Microsoft.Storage/storageAccounts": "storage account",
    "Microsoft.Insights/components": "Application Insights",
}


class Template:
    """infra/ and docs/deploy.md under `root`, parsed, with each module's parameters resolved from main.bicep."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @functools.cache  # noqa: B019 (one template per test)
    def file(self, relative: str) -> dict[str, Any]:
        return bicep.parse(self.root / "infra" / relative)

    def main_scope(self) -> dict[str, Any]:
        main = self.file("main.bicep")
        scope: dict[str, Any] = {name: p.get("default", f"<{name}>") for name, p in main["parameters"].items()}
        for name, variable in main["variables"].items():
            scope[name] = self.resolve(variable["value"], scope)
        return scope

    def module_scope(self, module: str) -> dict[str, Any]:
        main, outer = self.file("main.bicep"), self.main_scope()
        config = main["modules"][module]
        passed = {name: self.resolve(value, outer) for name, value in config["config"]["params"].items()}
        parameters = self.file(config["detail"]["path"])["parameters"]
        return {name: passed.get(name, p.get("default", f"<{name}>")) for name, p in parameters.items()}

    def resolve(self, value: Any, scope: dict[str, Any]) -> Any:
        if isinstance(value, str):
            if value in scope:
                return scope[value]
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(scope.get(m.group(1), f"<{m.group(1)}>")), value)
        if isinstance(value, list):
            return [self.resolve(item, scope) for item in value]
        if isinstance(value, dict) and "function" in value:
            function = value["function"]
            if function["type"] == "string":
                return str(self.resolve(function["parameters"]["value_to_convert"], scope))
            return f"<{function['type']}>"
        if isinstance(value, dict) and "operator" in value:
            return f"<{_dotted(value)}>"
        if isinstance(value, dict):
            return {key: self.resolve(item, scope) for key, item in value.items()}
        return value

    def resource(self, relative: str, name: str) -> dict[str, Any]:
        return self.file(relative)["resources"][name]["config"]

    def app_settings(self) -> dict[str, str]:
        site = self.resource("modules/app.bicep", "app")
        scope = self.module_scope("app")
        return {
            item["name"]: str(self.resolve(item["value"], scope))
            for item in site["properties"]["siteConfig"]["appSettings"]
        }

    def docs(self) -> str:
        return (self.root / "docs" / "deploy.md").read_text()


def _dotted(expression: Any) -> str:
    if isinstance(expression, dict) and "operator" in expression:
        operands = expression["operator"]["operands"]
        return ".".join(_dotted(operand) for operand in operands.values())
    return str(expression)


# --- the checks: each returns what disagrees, empty when all agree -------------------------------------------------


def settings_problems(template: Template) -> list[str]:
    settings = template.app_settings()
    problems = [f"{name}: read by nothing in the app or the host" for name in settings if name not in known_settings()]
    problems += [f"{name}: refused on Flex Consumption" for name in FLEX_FORBIDDEN & set(settings)]
    if "AzureWebJobsStorage" in settings:
        problems.append("AzureWebJobsStorage: a connection string; the app reaches storage with its identity")
    for name in (*sorted(HOST_SETTINGS), "BLOB_TRIGGER_SOURCE", "MODEL_PATH"):
        if name not in settings:
            problems.append(f"{name}: not set")
    try:
        parsed = Settings.from_env(settings)
    except ValueError as error:
        return [*problems, f"Settings refuse the template's values: {error}"]
    if parsed.blob_trigger_source != "EventGrid":
        problems.append(f"BLOB_TRIGGER_SOURCE={parsed.blob_trigger_source}: Flex Consumption supports only EventGrid")
    if parsed.model_path not in package.app_files(ROOT):
        problems.append(f"MODEL_PATH={parsed.model_path}: not a file that make package publishes")
    if settings.get("AzureWebJobsStorage__credential") != "managedidentity":
        problems.append("AzureWebJobsStorage__credential: must be managedidentity for a user-assigned identity")
    return problems


@functools.cache
def known_settings() -> frozenset[str]:
    storage_code = (ROOT / "videoanalysis" / "storage.py").read_text()
    read_by_code = {name for name in HOST_SETTINGS if f'"{name}"' in storage_code}
    return frozenset(SETTING_NAMES | HOST_SETTINGS | read_by_code)


def trigger_problems(template: Template) -> list[str]:
    """The webhook's function is the app's blob trigger, as the app indexes itself with the template's settings."""
    settings = Settings.from_env(template.app_settings())
    uploads = template.resource("blob-events.bicep", "uploads")["properties"]
    url = uploads["destination"]["properties"]["endpointUrl"]
    named = re.search(r"functionName=Host\.Functions\.(\w+)&", url)
    if not named:
        return [f"the webhook names no function: {url}"]
    problems = []
    function = named.group(1)
    if function not in {f.get_function_name() for f in indexed().values()}:
        problems.append(f"the webhook names {function}, which function_app does not register")
    app = df.DFApp()
    app.register_functions(blob_trigger_blueprint(template.app_settings()))
    bindings = {
        f.get_function_name(): [json.loads(raw) for raw in f.get_raw_bindings()] for f in app.get_functions()
    }.get(function, [])
    trigger = next((b for b in bindings if b["type"] == "blobTrigger"), None)
    if trigger is None:
        problems.append(f"{function} is not a blob trigger")
    elif (trigger["path"], trigger.get("source")) != (f"{settings.video_container}/{{name}}", "EventGrid"):
        problems.append(f"{function} watches {trigger['path']} from {trigger.get('source')}")
    container = event_container(template)
    if container != settings.video_container:
        problems.append(f"the subscription filters container {container}, the app watches {settings.video_container}")
    event_filter = uploads["filter"]
    if event_filter["includedEventTypes"] != ["Microsoft.Storage.BlobCreated"]:
        problems.append(f"the subscription takes {event_filter['includedEventTypes']}")
    apis = [f for f in event_filter.get("advancedFilters", []) if f["key"] == "data.api"]
    if len(apis) != 1 or apis[0]["operatorType"] != "StringIn" or set(apis[0]["values"]) != BLOB_CREATING_APIS:
        problems.append(f"the data.api filter is {apis}, not StringIn {sorted(BLOB_CREATING_APIS)}")
    return problems


def event_container(template: Template) -> str:
    """The container in the subscription's subject filter, with the value postdeploy.sh passes (an azd output)."""
    hook = (template.root / "infra" / "hooks" / "postdeploy.sh").read_text()
    outputs = template.file("main.bicep")["outputs"]
    passed = dict(re.findall(r"(\w+)=\"\$(\w+)\"", hook))
    scope = {
        name: template.resolve(outputs[output]["value"], template.main_scope())
        for name, output in passed.items()
        if output in outputs
    }
    subject = template.resolve(template.resource("blob-events.bicep", "uploads")["properties"]["filter"], scope)
    match = re.fullmatch(r"/blobServices/default/containers/([^/]+)/", subject["subjectBeginsWith"])
    return match.group(1) if match else subject["subjectBeginsWith"]


def role_problems(template: Template) -> list[str]:
    access = template.file("modules/access.bicep")
    resources = access["resources"]
    assigned = set()
    for assignment in resources.values():
        if assignment["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        config = assignment["config"].get("config", assignment["config"])  # a conditional resource nests its body
        properties = config["properties"]
        role = properties["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]["operator"]["operands"]
        who = "you" if properties["principalId"] == "principalId" else _dotted(properties["principalId"])
        scope = SCOPES.get(resources[config["scope"]]["type"], config["scope"])
        assigned.add((role["operand_2"], {"identity.properties.principalId": "the app"}.get(who, who), scope))
    documented = {(row["role"], row["who"], row["scope"]) for row in markdown_table(template.docs(), "role")}
    problems = [f"assigned, not in docs/deploy.md's table: {row}" for row in sorted(assigned - documented)]
    problems += [f"in docs/deploy.md's table, not assigned: {row}" for row in sorted(documented - assigned)]
    guids = access["variables"]["roles"]["value"]
    problems += [f"no role definition id for {role}" for role, _, _ in assigned if f"'{role}'" not in guids]
    return problems


def markdown_table(text: str, first_column: str) -> list[dict[str, str]]:
    """The rows of the table whose header starts with `| first_column |`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_column} |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True)))
    return rows


def memory_problems(template: Template) -> list[str]:
    main = template.file("main.bicep")["parameters"]
    memory = main["instanceMemoryMB"]["default"]
    allowed = next(d["argument"] for d in main["instanceMemoryMB"]["decorators"] if d["type"] == "allowed")
    host = json.loads((ROOT / "host.json").read_text())
    at_once = host["extensions"]["durableTask"]["maxConcurrentActivityFunctions"]
    documented = re.search(r"instance memory \*\*(\d+) MB\*\*", template.docs())
    problems = []
    if documented is None or int(documented.group(1)) != memory:
        problems.append(f"instanceMemoryMB {memory}, docs/deploy.md's plan: {documented and documented.group(0)}")
    if PUBLISHED[f"cores_{memory}"].value != at_once:
        cores = PUBLISHED[f"cores_{memory}"].value
        problems.append(f"{memory} MB has {cores:g} cores, host.json runs {at_once} activities at once")
    problems += [f"no published core count for {size} MB" for size in allowed if f"cores_{size}" not in PUBLISHED]
    config = template.resource("modules/app.bicep", "app")["properties"]["functionAppConfig"]
    scope = template.module_scope("app")
    if config["runtime"] != {"name": "python", "version": package.PYTHON_VERSION}:
        problems.append(f"runtime {config['runtime']}, make package builds for Python {package.PYTHON_VERSION}")
    ready = template.resolve(config["scaleAndConcurrency"]["alwaysReady"], scope)
    if [group["name"] for group in ready] != ["durable"] or ready[0]["instanceCount"] < 1:
        problems.append(f"always ready: {ready}; the durable group needs one instance")
    return problems


def storage_problems(template: Template) -> list[str]:
    scope = template.module_scope("storage")
    account = template.resource("modules/storage.bicep", "account")
    settings = Settings.from_env(template.app_settings())
    problems = []
    wanted = {settings.video_container, settings.results_container, settings.summary_container}
    if missing := wanted - set(scope["containers"]):
        problems.append(f"containers the app uses that the template does not create: {sorted(missing)}")
    defaults = Settings()
    for name in ("video_container", "results_container", "summary_container"):
        if getattr(settings, name) != getattr(defaults, name):
            problems.append(f"{name.upper()}={getattr(settings, name)}, Settings' default is {getattr(defaults, name)}")
    if account["properties"].get("allowSharedKeyAccess") is not False:
        problems.append("shared-key access is not off")
    policy = template.resolve(template.resource("modules/storage.bicep", "account__results"), scope)
    definition = policy["properties"]["policy"]["rules"][0]["definition"]
    if definition["filters"]["prefixMatch"] != [f"{settings.results_container}/"]:
        problems.append(f"the lifecycle rule deletes {definition['filters']['prefixMatch']}")
    days = definition["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"]
    if days != settings.history_retention_days:
        problems.append(f"results are deleted after {days} days, history after {settings.history_retention_days}")
    return problems


def output_problems(template: Template) -> list[str]:
    outputs = set(template.file("main.bicep")["outputs"])
    hook = (template.root / "infra" / "hooks" / "postdeploy.sh").read_text()
    used = set(smoke.AZD_OUTPUTS) | set(re.findall(r"\$\{?([A-Z][A-Z_]+)", hook))
    return [f"{name}: read by make smoke or the postdeploy hook, not an output" for name in sorted(used - outputs)]


CHECKS: dict[str, Callable[[Template], list[str]]] = {
    "settings": settings_problems,
    "trigger": trigger_problems,
    "roles": role_problems,
    "memory": memory_problems,
    "storage": storage_problems,
    "outputs": output_problems,
}


# --- the tests ----------------------------------------------------------------------------------------------------


def test_every_bicep_file_parses(capsys: pytest.CaptureFixture[str]) -> None:
    assert bicep.main([]) == 0
    assert (
        capsys.readouterr().out.strip()
        == f"bicep: {len(bicep.bicep_files())} of {len(bicep.bicep_files())} files parse"
    )


def test_a_file_that_does_not_parse_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.bicep").write_text("resource app 'Microsoft.Web/sites@2024-04-01' = {\n")
    assert bicep.main([str(tmp_path)]) == 1
    assert "broken.bicep" in capsys.readouterr().err


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_the_template_agrees_with_the_code(check: str) -> None:
    assert CHECKS[check](Template(ROOT)) == []


DRIFTS = [
    # (what drifted, file, text, replacement, check, what the check must say)
    ("a setting's name", "modules/app.bicep", "'VIDEO_CONTAINER'", "'VIDEOS_CONTAINER'", "settings",
     "VIDEOS_CONTAINER"),
    ("a setting's value", "modules/app.bicep", "value: 'EventGrid'", "value: 'LogsAndContainerScan'", "settings",
     "supports only EventGrid"),
    ("the model", "main.bicep", "models/demo-yolo26n-int8.onnx", "models/yolo26n.pt", "settings", "MODEL_PATH"),
    ("the subscription's container", "blob-events.bicep", "containers/${videoContainer}/", "containers/uploads/",
     "trigger", "filters container uploads"),
    ("the container's default", "main.bicep", "param videoContainerName string = 'videos'",
     "param videoContainerName string = 'uploads'", "storage", "VIDEO_CONTAINER=uploads"),
    ("the function's name", "blob-events.bicep", "Host.Functions.on_video_uploaded", "Host.Functions.on_video_upload",
     "trigger", "on_video_upload, which function_app does not register"),
    ("the events filtered", "blob-events.bicep", "'PutBlob', 'PutBlockList'", "'PutBlob'", "trigger", "data.api"),
    ("a role", "modules/access.bicep", "roleDefinitions', roles['Storage Queue Data Contributor'])",
     "roleDefinitions', roles['Storage Queue Data Reader'])", "roles", "Storage Queue Data Reader"),
    ("a role's scope", "modules/access.bicep", "scope: insights", "scope: account", "roles", "Monitoring Metrics"),
    ("the instance memory", "main.bicep", "param instanceMemoryMB int = 4096", "param instanceMemoryMB int = 2048",
     "memory", "2048 MB has 1 cores, host.json runs 2"),
    ("the runtime", "modules/app.bicep", "version: '3.11'", "version: '3.12'", "memory", "Python 3.11"),
    ("the lifecycle rule", "modules/storage.bicep", "['${resultsContainer}/']", "['videos/']",
     "storage", "the lifecycle rule deletes"),
    ("an output", "main.bicep", "output API_BASE_URL string", "output API_URL string", "outputs", "API_BASE_URL"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("file", "text", "replacement", "check", "message"), [drift[1:] for drift in DRIFTS], ids=[d[0] for d in DRIFTS]
)
def test_a_drifted_template_is_caught(
    tmp_path: Path, file: str, text: str, replacement: str, check: str, message: str
) -> None:
    shutil.copytree(ROOT / "infra", tmp_path / "infra")
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "deploy.md", tmp_path / "docs" / "deploy.md")
    drifted = tmp_path / "infra" / file
    original = drifted.read_text()
    assert original.count(text) == 1, text
    drifted.write_text(original.replace(text, replacement))
    problems = CHECKS[check](Template(tmp_path))
    assert any(message in problem for problem in problems), problems


def test_a_drifted_roles_table_is_caught(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "infra", tmp_path / "infra")
    (tmp_path / "docs").mkdir()
    docs = (ROOT / "docs" / "deploy.md").read_text()
    row = "| Storage Table Data Contributor | the app | storage account |"
    assert docs.count(row) == 1
    (tmp_path / "docs" / "deploy.md").write_text(
        docs.replace(row, "| Storage Table Data Reader | the app | storage account |")
    )
    problems = role_problems(Template(tmp_path))
    assert (
        "in docs/deploy.md's table, not assigned: ('Storage Table Data Reader', 'the app', 'storage account')"
        in problems
    )
    assert (
        "assigned, not in docs/deploy.md's table: ('Storage Table Data Contributor', 'the app', 'storage account')"
        in problems
    )


def test_the_storage_settings_reach_the_account_with_the_identity() -> None:
    """What the app's storage code builds from the template's settings: the account's blob endpoint, no key."""
    settings = Template(ROOT).app_settings()
    environ = {**settings, "AzureWebJobsStorage__accountName": "stexample"}
    client = blob_service_from_env(environ)
    assert client.url == "https://stexample.blob.core.windows.net/"
    assert client.credential.__class__.__name__ == "DefaultAzureCredential"
    assert settings["AzureWebJobsStorage__clientId"] == settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"].split(
        ";"
    )[0].removeprefix("ClientId=")


def test_azd_deploys_the_package_of_make_package() -> None:
    """azure.yaml deploys the unpacked zip (no remote build), which the prepackage hook makes with `make package`."""
    azure_yaml = (ROOT / "azure.yaml").read_text()
    service = azure_yaml.split("services:", 1)[1]
    assert re.search(r"^\s+host: function$", service, re.M) and re.search(r"^\s+remoteBuild: false$", service, re.M)
    dist = re.search(r"^\s+dist: (\S+)$", service, re.M)
    hook = (ROOT / "infra" / "hooks" / "prepackage.sh").read_text()
    assert dist and f"out/package/{package.ZIP_NAME} {dist.group(1)}" in hook and "make package" in hook
    assert "run: infra/hooks/prepackage.sh" in service
    assert "run: infra/hooks/postdeploy.sh" in azure_yaml.split("services:", 1)[0] + azure_yaml.split("\nhooks:", 1)[1]


def test_every_check_checkov_skips_says_why() -> None:
    """`make lint` runs checkov on infra/; a skip is a comment on the resource it concerns, with its reason."""
    skips = [
        (path.name, match)
        for path in bicep.bicep_files()
        for match in re.findall(r"//\s*checkov:skip=([A-Z0-9_]+)(:[^\n]*)?", path.read_text())
    ]
    assert skips, "no skipped check: then this test and docs/deploy.md's sentence about skips can go"
    for name, (check, reason) in skips:
        assert len(reason.strip(": ")) > 40, f"{name}: {check} is skipped without a reason"
