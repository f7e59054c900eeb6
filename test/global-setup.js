/** Creates the test database that suites connect to (and make their own schemas or databases
 *  from) when this machine's PostgreSQL does not have it yet. Plain JavaScript: it runs before
 *  jest compiles anything. */
const { Client } = require('pg');

module.exports = async function globalSetup() {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/modeltrail_test');
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) return;
  const admin = new Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  try {
    await admin.connect();
  } catch {
    return; // no server: the suites that need one say so themselves
  }
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((error) => {
        if (error.code !== '42P04') throw error; // another run created it first
      });
    }
  } finally {
    await admin.end();
  }
};
