export * from './table';
export { fileError, MAX_JSONL_COLUMNS, openTable, rowBatches, type OpenTableOptions } from './open';
export { CsvParser, CsvSyntaxError, ownedText, parseCsv, type CsvField, type CsvParserOptions } from './csv';
export { jsonCell, JsonlParser, JsonlSyntaxError, type JsonlParserOptions, type JsonObject } from './jsonl';
export { parquetCell, readParquetFile, writeParquet, type ParquetFile, type WriteParquetOptions } from './parquet';
export { localPath, ReadableRoots, REMOTE_SCHEMES, resolveLocation, type DataLocation } from './location';
