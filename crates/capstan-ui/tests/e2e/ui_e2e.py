"""End-to-end test of Capstan's web UI in headless Chromium, driven by Playwright.

Started by crates/capstan-server/tests/ui_browser.rs, which runs the API server, the controller and
the repo server on the embedded apiserver and passes, in the environment:

  CAPSTAN_URL        the server's base URL
  ADMIN_PASSWORD     the initial admin password
  VIEWER_PASSWORD    the password of the read-only account `viewer`
  REPO_URL, REPO_DIR the Git repository (file:// URL and its working directory)
  ARTIFACTS          where screenshots go
  CHROMIUM           the browser executable (Debian's chromium; Playwright downloads nothing)

Each step prints one line; the first failure raises with what the page showed.
"""

import os
import re
import subprocess
import sys
import time

from playwright.sync_api import expect, sync_playwright

URL = os.environ["CAPSTAN_URL"]
ARTIFACTS = os.environ["ARTIFACTS"]
REPO_DIR = os.environ["REPO_DIR"]
APP = "guestbook"
SLOW = 90_000  # ms: syncs and cascade deletion take a few seconds, more on a loaded CI machine


def step(text):
    print(f"[ui-e2e] {text}", flush=True)


def git(*args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    subprocess.run(["git", *args], cwd=REPO_DIR, env=env, check=True, capture_output=True)


def set_replicas(n):
    path = os.path.join(REPO_DIR, "guestbook", "guestbook-ui.yaml")
    with open(path) as f:
        text = f.read()
    text = re.sub(r"replicas: \d+", f"replicas: {n}", text, count=1)
    with open(path, "w") as f:
        f.write(text)
    git("commit", "-q", "-am", f"replicas {n}")


def login(page, user, password):
    page.goto(URL + "/applications")
    page.wait_for_url("**/login?**")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/applications")


def tile(page, name):
    return page.locator(f'li.tile[data-app="{name}"]')


def main():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(SLOW)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # failed requests (the refused login, the 403) are reported by the page itself; anything else
        # logged as an error, and every uncaught exception, fails the test
        page.on("console", lambda m: errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        alerts = []

        def on_dialog(d):
            # confirm() of the app's own buttons is expected; an alert/prompt would be planted code
            if d.type != "confirm":
                alerts.append(d.message)
            d.accept()

        page.on("dialog", on_dialog)

        step("a wrong password is refused with a message")
        page.goto(URL + "/applications")
        page.wait_for_url("**/login?**")
        page.fill("#username", "admin")
        page.fill("#password", "wrong-password")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_contain_text("Invalid username or password")

        step("log in as admin")
        page.fill("#username", "admin")
        page.fill("#password", os.environ["ADMIN_PASSWORD"])
        page.click("button[type=submit]")
        page.wait_for_url("**/applications")
        expect(page.locator("p.empty")).to_contain_text("No applications yet")

        step("create the application from the form")
        page.click("text=+ New app")
        page.wait_for_url("**/applications/new")
        page.fill("#name", APP)
        page.fill("#repo", os.environ["REPO_URL"])
        page.fill("#revision", "main")
        page.fill("#path", "guestbook")
        page.fill("#dest_namespace", "default")
        page.click("form.create button[type=submit]")
        page.wait_for_url(f"**/applications/{APP}")
        expect(page.locator("h1")).to_have_text(APP)

        step("the list shows the tile OutOfSync; sync it and watch it turn Synced/Healthy without reloading")
        page.goto(URL + "/applications")
        t = tile(page, APP)
        expect(t.locator('[data-field="sync"]')).to_have_text("OutOfSync")
        page.evaluate("window.__notReloaded = true")
        t.locator("button.action", has_text="Sync").click()
        expect(page.locator("#flash")).to_contain_text("Sync requested")
        expect(t.locator('[data-field="sync"]')).to_have_text("Synced")
        expect(t.locator('[data-field="health"]')).to_have_text("Healthy")
        assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        page.screenshot(path=os.path.join(ARTIFACTS, "list.png"), full_page=True)
        page.emulate_media(color_scheme="dark")
        page.screenshot(path=os.path.join(ARTIFACTS, "list-dark.png"), full_page=True)
        page.emulate_media(color_scheme="light")
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=os.path.join(ARTIFACTS, "list-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

        step("the compact list view and a filter in the URL")
        page.goto(URL + "/applications?view=list&health=Healthy")
        expect(page.locator(f'table.apps tr[data-app="{APP}"]')).to_be_visible()
        page.goto(URL + "/applications?health=Degraded")
        expect(page.locator("p.empty")).to_contain_text("No applications match")

        step("the resource tree: Deployment -> ReplicaSet -> Pod")
        page.goto(URL + "/applications")
        tile(page, APP).locator("h2 a").click()
        page.wait_for_url(f"**/applications/{APP}")
        tree = page.locator("#tree")
        expect(tree.locator('li[data-kind="Deployment"]')).to_be_visible()
        expect(tree.locator('li[data-kind="ReplicaSet"]')).to_be_visible()
        expect(tree.locator('li[data-kind="Pod"]').first).to_be_visible()
        page.screenshot(path=os.path.join(ARTIFACTS, "tree.png"), full_page=True)

        step("the graph view: Application -> Deployment -> ReplicaSet -> Pod, with edges; grouping")
        page.select_option("#tree-view", "graph")
        page.click("form[aria-label='Resource filters'] button[type=submit]")
        page.wait_for_url("**view=graph**")
        graph = page.locator("svg#tree")
        expect(graph.locator("g.gnode.app")).to_be_visible()
        for kind in ["Deployment", "ReplicaSet", "Service"]:
            expect(graph.locator(f'a.gnode[data-kind="{kind}"]').first).to_be_visible()
        expect(graph.locator('a.gnode[data-kind="Pod"]').first).to_be_visible()
        edges = graph.locator("path.edge").count()
        assert edges >= 4, f"{edges} edges"
        page.screenshot(path=os.path.join(ARTIFACTS, "graph.png"), full_page=True)
        page.select_option("#tree-group", "kind")
        page.click("form[aria-label='Resource filters'] button[type=submit]")
        page.wait_for_url("**group=kind**")
        expect(page.locator("svg#tree g.gnode.app")).to_be_visible()
        page.select_option("#tree-view", "tree")
        page.click("form[aria-label='Resource filters'] button[type=submit]")
        expect(page.locator('#tree section.group[data-group-label="Deployment"]')).to_be_visible()
        expect(page.locator('#tree section.group[data-group-label="Pod"] tr[data-kind="Pod"]').first).to_be_visible()
        page.goto(URL + f"/applications/{APP}?view=graph")
        page.locator('svg#tree a.gnode[data-kind="Deployment"]').click()
        page.wait_for_url("**/resource?**kind=Deployment**")
        page.goto(URL + f"/applications/{APP}")

        step("a commit changes the Deployment: after a refresh the app is OutOfSync and the diff shows it")
        set_replicas(2)
        page.click("button.action:has-text('Hard refresh')")
        expect(page.locator('.app-header [data-field="sync"]')).to_have_text("OutOfSync")
        page.locator('#tree li[data-kind="Deployment"] a').click()
        page.wait_for_url("**/resource?**")
        page.click("nav.tabs >> text=Diff")
        diff = page.locator("pre.diff")
        expect(diff.locator("span.del", has_text="replicas: 1")).to_be_visible()
        expect(diff.locator("span.add", has_text="replicas: 2")).to_be_visible()
        page.screenshot(path=os.path.join(ARTIFACTS, "diff.png"), full_page=True)
        page.click("nav.tabs >> text=Live manifest")
        expect(page.locator("pre.manifest")).to_contain_text("kind: Deployment")

        step("a resource action: restart the Deployment")
        page.locator(".resource-actions button.action", has_text="restart").click()
        expect(page.locator("#flash")).to_contain_text("Action done")
        page.reload()
        expect(page.locator("pre.manifest")).to_contain_text("kubectl.kubernetes.io/restartedAt")

        step("sync the change from the application page with the sync dialog")
        page.goto(URL + f"/applications/{APP}")
        page.click("#sync-button")
        page.click("#sync-dialog button[value=sync]")
        expect(page.locator("#flash")).to_contain_text("Sync requested")
        expect(page.locator('.app-header [data-field="sync"]')).to_have_text("Synced")
        expect(page.locator("section.history tbody tr")).to_have_count(2)
        expect(page.locator("section.operation")).to_contain_text("Succeeded")

        step("a read-only user sees Sync disabled, and a forced request shows the 403")
        viewer_ctx = browser.new_context()
        viewer = viewer_ctx.new_page()
        viewer.set_default_timeout(SLOW)
        login(viewer, "viewer", os.environ["VIEWER_PASSWORD"])
        viewer.goto(URL + f"/applications/{APP}")
        button = viewer.locator("#sync-button")
        expect(button).to_be_disabled()
        title = button.get_attribute("title")
        assert "applications, sync, default/guestbook" in title, title
        expect(viewer.locator("#delete-button")).to_be_disabled()
        viewer.evaluate("document.getElementById('sync-button').disabled = false")
        button.click()
        viewer.click("#sync-dialog button[value=sync]")
        expect(viewer.locator("#flash.error")).to_contain_text(
            "permission denied: applications, sync, default/guestbook, sub: viewer")
        viewer_ctx.close()

        step("roll back to the first deployment")
        page.reload()
        page.locator("section.history button.action", has_text="Rollback").first.click()
        expect(page.locator("section.history tbody tr")).to_have_count(3)
        expect(page.locator('.app-header [data-field="sync"]')).to_have_text("OutOfSync")
        page.locator('#tree li[data-kind="Deployment"] a').click()
        page.click("nav.tabs >> text=Live manifest")
        expect(page.locator("pre.manifest")).to_contain_text("replicas: 1")

        step("repositories: Test connection reports success and failure, storing nothing")
        page.goto(URL + "/settings/repositories")
        page.fill("#repo-url", os.environ["REPO_URL"])
        page.click("button.test-connection")
        expect(page.locator("#flash")).to_contain_text("Connection successful")
        page.fill("#repo-url", "file:///nonexistent/capstan-e2e.git")
        page.click("button.test-connection")
        expect(page.locator("#flash.error")).to_contain_text("unable to connect")
        page.reload()
        expect(page.locator("tr[data-repo]")).to_have_count(0)

        step("projects: add a role and a sync window with the forms, then remove them")
        page.goto(URL + "/settings/projects/default")
        page.fill("#role-name", "ci")
        page.fill("#role-policies", "p, proj:default:ci, applications, get, default/*, allow")
        page.fill("#role-groups", "devs")
        page.click("#roles form.add-form button[type=submit]")
        expect(page.locator('section.role[data-role="ci"]')).to_contain_text("Groups: devs")
        role = page.locator('section.role[data-role="ci"]')
        role.locator("details.edit-role > summary").click()
        role.locator("input[name=groups]").fill("devs, ops")
        role.locator("form.edit-role-form button[type=submit]").click()
        expect(page.locator('section.role[data-role="ci"]')).to_contain_text("Groups: devs, ops")
        page.select_option("#window-kind", "deny")
        page.fill("#window-schedule", "0 3 * * *")
        page.fill("#window-duration", "1h")
        page.fill("#window-apps", "nothing-*")
        page.fill("#window-tz", "UTC")
        page.check("#add-window input[name=manual_sync]")
        page.click("#add-window button[type=submit]")
        window = page.locator('#sync-windows tr[data-window="0"]')
        expect(window).to_contain_text("0 3 * * *")
        expect(window).to_contain_text("nothing-*")
        window.locator("button", has_text="Remove").click()
        expect(page.locator("#sync-windows tr[data-window]")).to_have_count(0)
        page.locator('section.role[data-role="ci"] button', has_text="Remove").click()
        expect(page.locator('section.role[data-role="ci"]')).to_have_count(0)

        step("delete with cascade: the tile disappears from the list")
        page.goto(URL + f"/applications/{APP}")
        page.click("#delete-button")
        page.fill("#delete-confirm", APP)
        page.click("#delete-dialog button[value=delete]")
        page.wait_for_url("**/applications")
        expect(tile(page, APP)).to_have_count(0)

        step("parameters: the Kustomize form saves images and a name prefix through the spec")
        kust = {"metadata": {"name": "kust"}, "spec": {"project": "default",
                "source": {"repoURL": os.environ["REPO_URL"], "path": "guestbook", "targetRevision": "main",
                           "kustomize": {"namePrefix": "a-"}},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}}}
        created = page.request.post(URL + "/api/v1/applications", data=kust, headers={"Origin": URL})
        assert created.ok, created.text()
        page.goto(URL + "/applications/kust")
        page.locator("#parameters > summary").click()
        page.fill("#kustomize-images", "nginx=registry.example/nginx:1.27")
        page.fill("#kustomize-prefix", "prod-")
        page.click("form.kustomize-params button[type=submit]")
        page.wait_for_url("**/applications/kust#parameters")
        expect(page.locator("#kustomize-images")).to_have_value("nginx=registry.example/nginx:1.27")
        expect(page.locator("#kustomize-prefix")).to_have_value("prod-")

        step("stored markup and javascript: links stay inert in the browser")
        xss = {"metadata": {"name": "xss", "annotations": {
                   "link.argocd.argoproj.io/docs": "JaVaScRiPt:window.__xss=1",
                   "link.argocd.argoproj.io/data": "data:text/html,<script>window.__xss=2</script>",
                   "link.argocd.argoproj.io/ok": "https://example.com/dashboard"}},
               "spec": {"project": "default",
                        "info": [{"name": "<img src=x onerror=window.__xss=3>", "value": "javascript:window.__xss=4"}],
                        "source": {"repoURL": os.environ["REPO_URL"], "path": "guestbook",
                                   "targetRevision": "\"><img src=x onerror=window.__xss=5>"},
                        "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}}}
        created = page.request.post(URL + "/api/v1/applications", data=xss, headers={"Origin": URL})
        assert created.ok, created.text()
        for path in ["/applications/xss", "/applications/xss?view=graph", "/applications?view=list", "/applications"]:
            page.goto(URL + path)
            expect(page.locator("main")).to_be_visible()
            assert page.evaluate("window.__xss === undefined"), f"{path}: a planted script ran"
            assert page.locator("main img[src='x']").count() == 0, f"{path}: planted markup became an element"
            assert page.locator('a[href^="javascript:" i], a[href^="data:" i], a[href^="vbscript:" i]').count() == 0, path
        page.goto(URL + "/applications/xss")
        expect(page.locator(".app-links a.external")).to_have_count(1)
        expect(page.locator(".app-links a.external")).to_have_attribute("href", "https://example.com/dashboard")
        expect(page.locator(".app-links")).to_contain_text("JaVaScRiPt:window.__xss=1")
        assert not alerts, f"dialogs opened by planted code: {alerts}"

        step("log out")
        page.click("form.logout button")
        page.wait_for_url("**/login")

        if errors:
            raise AssertionError("errors in the browser console: " + "; ".join(errors))
        browser.close()
    step("all steps passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the Rust test's assertion message
        print(f"[ui-e2e] FAILED: {type(e).__name__}: {e}", flush=True)
        sys.exit(1)
