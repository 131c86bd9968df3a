/** A fresh PostgreSQL database per test file, dropped afterwards. */
import { randomBytes } from "node:crypto";
import pg from "pg";

const server = process.env.RUNWARDEN_PG_URL ?? "postgres://postgres@127.0.0.1:5432";

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${server}/postgres`, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `rw_embed_${randomBytes(6).toString("hex")}`;
  await admin(`CREATE DATABASE ${name}`);
  return { url: `${server}/${name}`, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
