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

const TOKEN = ["users", { name: "u" }, "user", "token"];

/** `text` with `from` (which must occur once) replaced by `to`: the expected bytes of an edit. */
function only(text: string, from: string, to: string): string {
  assert.equal(text.split(from).length, 2, `"${from}" occurs once in the input`);
  return text.replace(from, () => to);
}

Deno.test("editKubeconfigText() refuses duplicate keys in what it edits, naming the line", async (t) => {
  const cases = [
    {
      name: "two token keys (kubectl reads the last)",
      text: "users:\n- name: u\n  user:\n    token: first\n    token: second\n",
      error: /: duplicate key "token" in users\[0\]\.user at line 5$/,
    },
    {
      name: "two user keys in the entry",
      text: "users:\n- name: v\n- name: u\n  user:\n    token: a\n  user:\n    token: b\n",
      error: /: duplicate key "user" in users\[1\] at line 6$/,
    },
    {
      name: "two users lists",
      text: "users:\n- name: u\n  user:\n    token: a\nkind: Config\nusers:\n- name: u\n",
      error: /: duplicate key "users" at line 6$/,
    },
    {
      name: "two name keys in an entry",
      text: "users:\n- name: x\n  name: u\n  user:\n    token: a\n",
      error: /: duplicate key "name" in users\[0\] at line 3$/,
    },
    {
      name: "two entries of that name",
      text: "users:\n- name: u\n  user: {token: a}\n- name: u\n  user: {token: b}\n",
      error: /: duplicate name "u" in "users" at line 4$/,
    },
    {
      name: "in a flow mapping",
      text: "users:\n- name: u\n  user: {token: a, token: b}\n",
      error: /: duplicate key "token" in users\[0\]\.user at line 3$/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(
        () => editKubeconfigText(c.text, [{ set: TOKEN, value: "new" }], "/k"),
        (e: Error) => {
          assert.match(e.message, /^Cannot edit kubeconfig "\/k": /);
          assert.match(e.message, c.error);
          assert.ok(!e.message.includes("\n"));
          return true;
        },
      );
    });
  }
  await t.step("upsert into a file with two contexts lists", () => {
    assert.throws(
      () =>
        editKubeconfigText("contexts: []\ncontexts:\n- name: a\n", [
          { upsert: "contexts", name: "b", value: { context: {} } },
        ], "/k"),
      /: duplicate key "contexts" at line 2$/,
    );
  });
});

Deno.test("editKubeconfigText() refuses what a splice would get wrong, saying what it is", async (t) => {
  const cases = [
    {
      name: "token is an alias",
      text: "tok: &t abc\nusers:\n- name: u\n  user:\n    token: *t\n",
      error: /: "users\[0\]\.user\.token" is a YAML alias \("\*t"\)$/,
    },
    {
      name: "user is an alias",
      text: "base: &b {token: abc}\nusers:\n- name: u\n  user: *b\n",
      error: /: "users\[0\]\.user" is a YAML alias \("\*b"\)$/,
    },
    {
      name: "token comes from a merge key",
      text: "base: &b {token: abc}\nusers:\n- name: u\n  user:\n    <<: *b\n",
      error: /: "users\[0\]\.user" uses a YAML merge key \("<<"\)$/,
    },
    {
      // kubectl (go-yaml v2) lets the merge override a key written before it.
      name: "a merge key beside an explicit token",
      text: "base: &b {token: abc}\nusers:\n- name: u\n  user:\n    token: mine\n    <<: *b\n",
      error: /: "users\[0\]\.user" uses a YAML merge key \("<<"\)$/,
    },
    {
      name: "token is an anchor another user refers to",
      text: "users:\n- name: u\n  user:\n    token: &t abc\n- name: v\n  user:\n    token: *t\n",
      error: /: "users\[0\]\.user\.token" carries the YAML anchor "&t" that aliases refer to$/,
    },
    {
      name: "a block scalar that keeps its line break",
      text: "users:\n- name: u\n  user:\n    token: |\n      abc\n",
      error:
        /: "users\[0\]\.user\.token" is a block scalar \("\|"\) that keeps a final line break$/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(
        () => editKubeconfigText(c.text, [{ set: TOKEN, value: "new" }], "/k"),
        c.error,
      );
    });
  }
  await t.step("upsert over an entry holding an anchor used elsewhere", () => {
    const text = "users:\n- name: u\n  user: &u {token: a}\n- name: v\n  user: *u\n";
    assert.throws(
      () =>
        editKubeconfigText(
          text,
          [{ upsert: "users", name: "u", value: { user: { token: "b" } } }],
          "/k",
        ),
      /: "users\[0\]" holds the YAML anchor "&u" that aliases refer to$/,
    );
  });
});

Deno.test("editKubeconfigText() replaces block-scalar tokens in place", async (t) => {
  const cases = [
    { header: "|-", body: "      eyJold.old.old\n" },
    { header: ">-", body: "      eyJold.old.old\n" },
    { header: "|-  # folded by an editor", body: "      eyJold.\n      old.old\n" },
    { header: "|2-", body: "      eyJold.old.old\n\n" },
  ];
  for (const c of cases) {
    await t.step(c.header, () => {
      const head = `users:\n- name: u\n  user:\n    token: ${c.header}\n`;
      const tail = '    # the next comment stays on its own line\n    username: ""\n- name: v\n';
      const text = head + c.body + tail;
      const out = editKubeconfigText(text, [{ set: TOKEN, value: "eyJnew.new.new" }], "f");
      const blank = c.body.endsWith("\n\n") ? "\n" : "";
      assert.equal(out, head + "      eyJnew.new.new\n" + blank + tail);
      assert.equal(parse(out).users[0].user.token, "eyJnew.new.new");
    });
  }
});

Deno.test("editKubeconfigText() merges into empty lists as kubectl writes them, keeping every other byte", async (t) => {
  const entry = { upsert: "users" as const, name: "robot", value: { user: { token: "t.t.t" } } };
  const block = "- name: robot\n  user:\n    token: t.t.t\n";
  const cases = [
    {
      name: "users: null (kubectl config set-context writes it)",
      text: 'apiVersion: v1\nclusters: null\ncurrent-context: ""\nkind: Config\nusers: null\n',
      want: `apiVersion: v1\nclusters: null\ncurrent-context: ""\nkind: Config\nusers:\n${block}`,
    },
    {
      name: "users: null in the middle, with a comment",
      text: "# mine\nusers: null   # none yet\nkind: Config\n",
      want: `# mine\nusers:   # none yet\n${block}kind: Config\n`,
    },
    { name: "users: ~", text: "users: ~\nkind: Config\n", want: `users:\n${block}kind: Config\n` },
    {
      name: "users: (empty)",
      text: "users:\nkind: Config\n",
      want: `users:\n${block}kind: Config\n`,
    },
    {
      name: "users: []",
      text: "users: []\nkind: Config\n",
      want: `users:\n${block}kind: Config\n`,
    },
    {
      name: "no users key, no final line break",
      text: "apiVersion: v1\nkind: Config",
      want: `apiVersion: v1\nkind: Config\nusers:\n${block}`,
    },
    {
      name: "no users key, indented list style",
      text: "contexts:\n  - name: a\n    context: {}\nkind: Config\n",
      want: `contexts:\n  - name: a\n    context: {}\nkind: Config\nusers:\n  ${
        block.replace(/\n(?=.)/g, "\n  ")
      }`,
    },
    {
      name: "a flow list with items: the entry joins the list as JSON",
      text: "users: [{name: a, user: {token: x}}]   # flow\nkind: Config\n",
      want:
        `users: [{name: a, user: {token: x}}, {"name":"robot","user":{"token":"t.t.t"}}]   # flow\nkind: Config\n`,
    },
    {
      name: "a flow list: the entry of that name is replaced as JSON",
      text: "users: [{name: robot, user: {token: x}}, {name: b}]\n",
      want: `users: [{"name":"robot","user":{"token":"t.t.t"}}, {name: b}]\n`,
    },
    {
      name: "a JSON kubeconfig stays JSON, other bytes kept",
      text: '{\n  "kind": "Config",\n  "users": []\n}\n',
      want: '{\n  "kind": "Config",\n  "users": [{"name":"robot","user":{"token":"t.t.t"}}]\n}\n',
    },
    {
      name: "a JSON kubeconfig with users null",
      text: '{"kind": "Config", "users": null}',
      want: '{"kind": "Config", "users": [{"name":"robot","user":{"token":"t.t.t"}}]}',
    },
    {
      name: "a JSON kubeconfig without users",
      text: '{\n  "kind": "Config"\n}\n',
      want: '{\n  "kind": "Config", "users": [{"name":"robot","user":{"token":"t.t.t"}}]\n}\n',
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const out = editKubeconfigText(c.text, [entry], "f");
      assert.equal(out, c.want);
      const users = parse(out).users as { name: string }[];
      assert.deepEqual(users.find((u) => u.name === "robot"), {
        name: "robot",
        user: { token: "t.t.t" },
      });
    });
  }
});

Deno.test("editKubeconfigText() adds a missing key where its map ends", async (t) => {
  const set = { set: ["current-context"], value: "robot" };
  const cases = [
    {
      name: "after a block list ending the file",
      text: "kind: Config\nusers:\n- name: u\n  user: {}\n# trailing comment\n",
      want:
        "kind: Config\nusers:\n- name: u\n  user: {}\ncurrent-context: robot\n# trailing comment\n",
    },
    {
      name: "into a JSON object",
      text: '{"kind": "Config"}\n',
      want: '{"kind": "Config", "current-context": "robot"}\n',
    },
    {
      name: "into a comment-only file",
      text: "# empty\n",
      want: "# empty\ncurrent-context: robot\n",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => assert.equal(editKubeconfigText(c.text, [set], "f"), c.want));
  }
});

Deno.test("editKubeconfigText() keeps CRLF line ends, in the edit and around it", () => {
  const lf =
    `# windows\napiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: old # c\n`;
  const text = lf.replaceAll("\n", "\r\n");
  const out = editKubeconfigText(text, [
    { set: TOKEN, value: "eyJnew" },
    { upsert: "users", name: "v", value: { user: { token: "x" } } },
    { upsert: "contexts", name: "c", value: { context: { cluster: "k", user: "v" } } },
    { set: ["current-context"], value: "c" },
  ], "f");
  assert.ok(!/[^\r]\n/.test(out), JSON.stringify(out));
  assert.equal(
    out,
    only(text, "token: old", "token: eyJnew") +
      "- name: v\r\n  user:\r\n    token: x\r\n" +
      "contexts:\r\n- name: c\r\n  context:\r\n    cluster: k\r\n    user: v\r\n" +
      "current-context: c\r\n",
  );
});
