/** Report writers: the result document, JUnit XML, HTML, and shard merging. */
export * from "./result.js";
export { toJUnit, xmlEscape } from "./junit.js";
export { toHtml, htmlEscape } from "./html.js";
export { mergeResults, type NamedResult } from "./merge.js";
export { writeReports, type ReportTargets } from "./write.js";
