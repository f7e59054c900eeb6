import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { satisfies } from 'semver';

/**
 * Every machine here runs Node.js 20: the project declares it, and no installed package may
 * demand a newer Node (graphql 17 and MikroORM 7 do — see STACK notes).
 */
describe('Node.js engines', () => {
  const root = join(__dirname, '..');
  const node = process.versions.node;

  it('the project declares the Node.js it runs on', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines?: { node?: string } };
    expect(pkg.engines?.node).toBeDefined();
    expect(satisfies(node, pkg.engines!.node!)).toBe(true);
  });

  it('every installed package accepts this Node.js', () => {
    const refusing: string[] = [];
    const visit = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name.startsWith('.')) continue;
        const path = join(dir, name);
        if (name.startsWith('@')) {
          visit(path);
          continue;
        }
        const manifest = join(path, 'package.json');
        if (!existsSync(manifest)) continue;
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string; version: string; engines?: { node?: string } };
        const wanted = pkg.engines?.node;
        if (wanted && !satisfies(node, wanted, { includePrerelease: true })) refusing.push(`${pkg.name}@${pkg.version} wants node ${wanted}`);
        if (existsSync(join(path, 'node_modules'))) visit(join(path, 'node_modules'));
      }
    };
    visit(join(root, 'node_modules'));
    expect(refusing).toEqual([]);
  });
});
