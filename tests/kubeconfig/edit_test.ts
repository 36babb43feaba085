import assert from "node:assert/strict";
import { parse } from "yaml";
import { editKubeconfigText } from "../../src/kubeconfig/edit.ts";

const KUBECTL_STYLE = `# my clusters, do not touch
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lCQURBS0JnZ3Foa2pPUFFRREFqQWpNU0V3SHdZRFZRUUREQmhyTTNNdGMyVnkK
    server: https://127.0.0.1:6443   # the local one
  name: local
contexts:
- context:
    cluster: local
    user: robot
  name: robot
current-context: robot
kind: Config
preferences: {}
users:
# the admin keeps its certificate
- name: admin
  user:
    client-certificate: /tmp/a.crt
    client-key: /tmp/a.key
- name: robot
  user:
    token: "eyJold.old.old"   # rotated by kubectl token
- name: other
  user:
    token: 'keep-me'
`;

Deno.test("editKubeconfigText() replaces a token and leaves every other byte alone", () => {
  const out = editKubeconfigText(KUBECTL_STYLE, [{
    set: ["users", { name: "robot" }, "user", "token"],
    value: "eyJnew.new.new",
  }], "f");
  assert.equal(out, KUBECTL_STYLE.replace('"eyJold.old.old"', '"eyJnew.new.new"'));
});

Deno.test("editKubeconfigText() keeps the quoting style of the value it replaces", async (t) => {
  const cases = [
    { before: "token: abc", after: "token: eyJ.x.y" },
    { before: "token: 'abc'", after: "token: 'eyJ.x.y'" },
    { before: 'token: "abc"', after: 'token: "eyJ.x.y"' },
  ];
  for (const c of cases) {
    await t.step(c.before, () => {
      const text = `users:\n- name: u\n  user:\n    ${c.before}\n`;
      const out = editKubeconfigText(text, [{
        set: ["users", { name: "u" }, "user", "token"],
        value: "eyJ.x.y",
      }], "f");
      assert.equal(out, `users:\n- name: u\n  user:\n    ${c.after}\n`);
    });
  }
});

Deno.test("editKubeconfigText() adds a missing token key and keeps comments and layout", () => {
  const text = `# top\nusers:\n- name: u  # the user\n  user:\n    username: x\n`;
  const out = editKubeconfigText(text, [{
    set: ["users", { name: "u" }, "user", "token"],
    value: "t",
  }], "f");
  assert.equal(
    out,
    `# top\nusers:\n- name: u  # the user\n  user:\n    username: x\n    token: t\n`,
  );
});

Deno.test("editKubeconfigText() upserts entries and keeps unrelated ones", () => {
  const out = editKubeconfigText(KUBECTL_STYLE, [
    { upsert: "users", name: "robot", value: { user: { token: "n" } } },
    { upsert: "contexts", name: "new", value: { context: { cluster: "local", user: "robot" } } },
  ], "f");
  const doc = parse(out);
  assert.deepEqual(doc.users.map((u: { name: string }) => u.name), ["admin", "robot", "other"]);
  assert.equal(doc.users[1].user.token, "n");
  assert.equal(doc.users[2].user.token, "keep-me");
  assert.deepEqual(doc.contexts.map((c: { name: string }) => c.name), ["robot", "new"]);
  assert.match(out, /^# my clusters, do not touch\n/);
  assert.match(out, /^# the admin keeps its certificate$/m);
  assert.match(out, /^- name: admin$/m);
  // Byte for byte: only the replaced entry and the appended one differ.
  const expected = KUBECTL_STYLE
    .replace(
      'name: robot\n  user:\n    token: "eyJold.old.old"   # rotated by kubectl token\n',
      // "n" is a boolean in YAML 1.1, which kubectl reads: quoted.
      'name: robot\n  user:\n    token: "n"\n',
    )
    .replace(
      "  name: robot\ncurrent-context",
      "  name: robot\n- name: new\n  context:\n    cluster: local\n    user: robot\ncurrent-context",
    );
  assert.equal(out, expected);
});

Deno.test("editKubeconfigText() edits JSON kubeconfigs as JSON", () => {
  const text = JSON.stringify({ users: [{ name: "u", user: { token: "a" } }] });
  const out = editKubeconfigText(text, [{
    set: ["users", { name: "u" }, "user", "token"],
    value: "b",
  }], "f");
  assert.deepEqual(JSON.parse(out), { users: [{ name: "u", user: { token: "b" } }] });
  const added = editKubeconfigText(text, [{
    upsert: "users",
    name: "v",
    value: { user: { token: "c" } },
  }], "f");
  assert.equal(JSON.parse(added).users[1].user.token, "c");
});

Deno.test("editKubeconfigText() refuses a file that is not YAML", () => {
  assert.throws(
    () => editKubeconfigText("users: [\n", [{ set: ["a"], value: "b" }], "/x"),
    /Cannot edit kubeconfig "\/x": it is not valid YAML/,
  );
});
