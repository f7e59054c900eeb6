import { gunzipSync } from 'node:zlib';
import type { AuditReportDocument } from '@modeltrail/contracts';

/** The document's text, whichever way it travelled from the lineage service. */
export function documentBody(document: AuditReportDocument): string {
  return document.encoding === 'gzip+base64' ? gunzipSync(Buffer.from(document.body, 'base64')).toString('utf8') : document.body;
}
