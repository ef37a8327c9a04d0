"""The deployment files of docs/deploy.md: the compose file and the Kubernetes manifests parse,
and keep what running N replicas on one PostgreSQL needs. (kubeconform needs the Kubernetes
JSON schemas from the network, which this machine does not reach: these checks are the lint.)"""

import yaml

from conftest import ROOT, read

DEPLOY = ROOT / "deploy"


def manifests():
    docs = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)
    return docs


def by_kind(kind):
    return [d for d in manifests() if d["kind"] == kind]


def test_every_manifest_has_api_version_kind_and_name():
    docs = manifests()
    assert docs
    for doc in docs:
        assert isinstance(doc.get("apiVersion"), str) and "/" in doc["apiVersion"] or doc["apiVersion"] == "v1"
        assert doc.get("kind")
        assert doc["metadata"]["name"]


def test_the_deployment_runs_replicas_on_a_database_url_from_a_secret():
    (deployment,) = by_kind("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    assert spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
    (container,) = spec["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    secret = env["TRACELET_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    (secret_doc,) = by_kind("Secret")
    assert secret["name"] == secret_doc["metadata"]["name"]
    assert secret["key"] in secret_doc["stringData"]
    args = " ".join(container["args"])
    assert "--listen=0.0.0.0:8787" in args and "--retain-days=" in args
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    ports = {p["name"] for p in container["ports"]}
    (service,) = by_kind("Service")
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports


def test_ingress_and_autoscaler_point_at_what_exists():
    (ingress,) = by_kind("Ingress")
    (service,) = by_kind("Service")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert ingress["spec"]["tls"], "HTTPS except loopback"
    (hpa,) = by_kind("HorizontalPodAutoscaler")
    (deployment,) = by_kind("Deployment")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2


def test_compose_runs_collectors_on_postgis_with_a_health_gate():
    compose = yaml.safe_load(read("deploy/compose.yaml"))
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgis/postgis:")
    collector = services["collector"]
    assert collector["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert collector["environment"]["TRACELET_DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in collector["environment"]["TRACELET_DATABASE_URL"]
    assert (ROOT / collector["build"]["context"].replace("..", ".") / collector["build"]["dockerfile"]).exists() or \
        (DEPLOY / collector["build"]["context"] / collector["build"]["dockerfile"]).exists()


def test_the_deploy_doc_shows_the_files_it_describes():
    doc = read("docs/deploy.md")
    for path in ["deploy/compose.yaml", "deploy/kubernetes/collector.yaml", "deploy/Dockerfile"]:
        assert path in doc
