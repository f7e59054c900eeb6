import { execFileSync } from 'node:child_process';
import { fromPasswd, jobUserFor, resolveUser } from './user';

describe('job user', () => {
  it('resolves a user name like id does, and numeric forms as given', async () => {
    const uid = Number(execFileSync('id', ['-u', 'nobody']).toString());
    const gid = Number(execFileSync('id', ['-g', 'nobody']).toString());
    expect(await resolveUser('nobody')).toEqual({ name: 'nobody', uid, gid });
    expect(await resolveUser('1234')).toEqual({ name: '1234', uid: 1234, gid: 1234 });
    expect(await resolveUser('1234:99')).toEqual({ name: '1234:99', uid: 1234, gid: 99 });
  });

  it('refuses an unknown user and a name that is not one', async () => {
    await expect(resolveUser('no-such-user-mt')).rejects.toThrow(/no user "no-such-user-mt"/);
    await expect(resolveUser('-u')).rejects.toThrow(/is not a user name/);
  });

  it('reads /etc/passwd text', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
    expect(fromPasswd('nobody', passwd)).toEqual({ name: 'nobody', uid: 65534, gid: 65534 });
    expect(() => fromPasswd('ghost', passwd)).toThrow(/no user "ghost"/);
  });

  it('switches users only when the agent is root, to nobody by default, never to root', async () => {
    expect(await jobUserFor('nobody', 1000)).toBeNull();
    expect(await jobUserFor(undefined, 0)).toMatchObject({ name: 'nobody' });
    await expect(jobUserFor('root', 0)).rejects.toThrow(/must not run as root/);
    await expect(jobUserFor('0', 0)).rejects.toThrow(/must not run as root/);
  });
});
