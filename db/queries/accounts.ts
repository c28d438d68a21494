import type postgres from 'postgres';

/** Accounts and their delegations. */

export interface Account {
  address: string;
  roles: string[];
  displayName: string | null;
  createdAt: Date;
}

/** The roles of an account, or undefined when it is not registered. */
export async function findAccountRoles(sql: postgres.Sql, address: string): Promise<string[] | undefined> {
  const [row] = await sql<{ roles: string[] }[]>`select roles from accounts where address = ${address}`;
  return row?.roles;
}

export async function accountExists(sql: postgres.Sql, address: string): Promise<boolean> {
  const rows = await sql`select 1 from accounts where address = ${address}`;
  return rows.length > 0;
}

export async function findAccount(sql: postgres.Sql, address: string): Promise<Account | undefined> {
  const [row] = await sql<{ address: string; roles: string[]; display_name: string | null; created_at: Date }[]>`
    select address, roles, display_name, created_at from accounts where address = ${address}`;
  return row && { address: row.address, roles: row.roles, displayName: row.display_name, createdAt: row.created_at };
}

/**
 * Registers the key, or adds `roles` to an existing account's roles (never removes any).
 * `created` is false when the account already existed.
 */
export async function upsertAccount(
  sql: postgres.Sql,
  a: { address: string; publicKey: string; roles: string[]; displayName: string | null },
): Promise<{ roles: string[]; created: boolean }> {
  const [row] = await sql<{ roles: string[]; created: boolean }[]>`
    insert into accounts (address, public_key, roles, display_name) values (${a.address}, ${a.publicKey}, ${a.roles}, ${a.displayName})
    on conflict (address) do update set roles = (select array(select distinct unnest(accounts.roles || excluded.roles)))
    returning roles, (xmax = 0) as created`;
  if (!row) throw new Error(`upsert of account ${a.address} returned no row`);
  return row;
}

/** Whom `delegator` delegates voting power to, or null. */
export async function findDelegatee(sql: postgres.Sql, delegator: string): Promise<string | null> {
  const [row] = await sql<{ delegatee: string }[]>`select delegatee from delegations where delegator = ${delegator}`;
  return row?.delegatee ?? null;
}

export async function upsertDelegation(sql: postgres.Sql, delegator: string, delegatee: string): Promise<void> {
  await sql`insert into delegations (delegator, delegatee) values (${delegator}, ${delegatee}) on conflict (delegator) do update set delegatee = excluded.delegatee, created_at = now()`;
}
