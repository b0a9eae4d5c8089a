// Names for the API's shapes, all taken from schema.d.ts, which is generated
// from api/openapi.yaml on every build: reading a field the API does not send
// fails the type check. Nothing here describes a shape by hand.
import type { components, paths } from './schema';

type Schemas = components['schemas'];

export type Role = Schemas['Role'];
export type Profile = Schemas['Profile'];
export type OrderStatus = Schemas['OrderStatus'];
export type FinancialStatus = Schemas['FinancialStatus'];
export type FulfillmentStatus = Schemas['FulfillmentStatus'];
export type OrderSummary = Schemas['OrderSummary'];
export type OrderLine = Schemas['OrderLine'];
export type OrderDetail = Schemas['Order'];
export type OrderWritten = Schemas['OrderWritten'];
export type Written = Schemas['Positioned'];
export type StoredEvent = Schemas['Event'];
export type EventMetadata = StoredEvent['metadata'];
export type InventoryItem = Schemas['InventoryItem'];
export type InventoryFigures = Schemas['InventoryFigures'];
export type InventoryChange = Schemas['InventoryChange'];
export type Webhook = Schemas['Webhook'];
export type WebhookDetail = Schemas['WebhookDetail'];
export type WebhookOutcome = Schemas['WebhookOutcome'];
export type DeadLetter = Schemas['ExplainedDeadLetter'];
export type DeadLetterFilter = Schemas['DeadLetterFilter'];
export type BulkRequeue = Schemas['BulkRequeue'];
export type WebhookFilter = Schemas['WebhookFilter'];
export type BulkRedelivery = Schemas['BulkRedelivery'];
export type Email = Schemas['Email'];
export type Report = Schemas['Report'];
export type ReportAccepted = Schemas['ReportAccepted'];
export type AuditFinding = Schemas['Finding'];
export type AuditVerify = Schemas['ShopVerify'];
export type AuditStatus = Schemas['AuditStatus'];
export type AuditVerifyRun = Schemas['ShopVerifyRun'];
export type User = Schemas['User'];
export type ApiToken = Schemas['APIToken'];
export type CreatedToken = Schemas['CreatedAPIToken'];
export type Shop = Schemas['Shop'];
export type ShopInstall = Schemas['ShopInstall'];
export type ShopBackfill = Schemas['ShopBackfill'];
export type ShopSettings = Schemas['ShopSettings'];
export type PrivacyRequest = Schemas['PrivacyRequest'];
export type Lag = Schemas['Lag'];
export type Dashboard = Schemas['Dashboard'];

type JsonBody<R> = R extends { content: { 'application/json': infer B } } ? B : never;

/** The JSON a GET of path answers with on 200, as the API description says. */
export type GetJson<P extends keyof paths> = paths[P] extends { get: { responses: { 200: infer R } } } ? JsonBody<R> : never;

/** A page of a list: what GET path answers, for lists with cursors. */
export type Page<T> = { items: T[]; next_cursor: string | null };

/** A list without cursors. */
export type Items<T> = { items: T[] };
