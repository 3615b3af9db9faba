// Generated from docs/openapi.yaml (CatalogTests checks they match); regenerate with the
// command in docs/catalog.md after editing the YAML.
enum OpenAPISpec {
    static let yaml = #"""
openapi: 3.0.3
info:
  title: QForge run catalog
  version: "1"
  description: |
    Records what ran, on what, for whom, and what it cost. Served by `qforge catalog serve`.
    Every `/api/v1` route needs `Authorization: Bearer <API key>` (401 without a valid key).
    Keys have a role (admin / recorder / reader) and are scoped to accounts; another account's
    run, account or invoice answers 404, and filtering or recording for it answers 403.
    Money is in integer cents (`*_cents`); rate prices are micro-units per hour (`*_micros`,
    1 EUR = 1,000,000). Times are ISO-8601 UTC. Bodies above 64 KiB answer 413.
servers:
  - url: http://127.0.0.1:8080
security:
  - bearer: []
paths:
  /healthz:
    get:
      summary: Liveness and store check
      security: []
      responses:
        "200": { description: OK, content: { application/json: { schema: { type: object, properties: { status: { type: string } } } } } }
        "503": { description: Store unreachable }
  /metrics:
    get:
      summary: Prometheus metrics (text format 0.0.4)
      security: []
      responses:
        "200": { description: Metrics, content: { text/plain: { schema: { type: string } } } }
  /openapi.yaml:
    get:
      summary: This document
      security: []
      responses:
        "200": { description: OpenAPI 3 document, content: { application/yaml: { schema: { type: string } } } }
  /api/v1/me:
    get:
      summary: The calling key
      responses:
        "200": { description: Key, content: { application/json: { schema: { $ref: "#/components/schemas/APIKey" } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
  /api/v1/runs:
    get:
      summary: List runs, newest first
      parameters:
        - { name: account, in: query, schema: { type: string } }
        - { name: app, in: query, schema: { type: string } }
        - { name: state, in: query, schema: { $ref: "#/components/schemas/RunState" } }
        - { name: user, in: query, schema: { type: string } }
        - { name: since, in: query, description: "started at or after (ISO-8601 or Unix seconds)", schema: { type: string } }
        - { name: until, in: query, description: "started before", schema: { type: string } }
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 1000, default: 50 } }
        - { name: cursor, in: query, description: "next_cursor of the previous page", schema: { type: string } }
      responses:
        "200": { description: A page of runs, content: { application/json: { schema: { $ref: "#/components/schemas/RunPage" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
    post:
      summary: Record a run (insert or update by id; idempotent)
      description: A `running` record never overwrites a terminal one. Needs a recorder or admin key for the run's account.
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Run" } } } }
      responses:
        "200": { description: The stored run, content: { application/json: { schema: { $ref: "#/components/schemas/Run" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "413": { $ref: "#/components/responses/TooLarge" }
  /api/v1/runs/{id}:
    parameters:
      - { name: id, in: path, required: true, schema: { type: string } }
    get:
      summary: One run
      responses:
        "200": { description: Run, content: { application/json: { schema: { $ref: "#/components/schemas/Run" } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "404": { $ref: "#/components/responses/NotFound" }
    put:
      summary: Record a run under this id (as POST /api/v1/runs)
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Run" } } } }
      responses:
        "200": { description: The stored run, content: { application/json: { schema: { $ref: "#/components/schemas/Run" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "413": { $ref: "#/components/responses/TooLarge" }
  /api/v1/apps:
    get:
      summary: Apps and their versions
      responses:
        "200": { description: Apps, content: { application/json: { schema: { type: object, properties: { items: { type: array, items: { $ref: "#/components/schemas/App" } } } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
    post:
      summary: Register an app or version (admin)
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, kind]
              properties: { name: { type: string }, kind: { type: string }, version: { type: string }, source_commit: { type: string } }
      responses:
        "201": { description: App, content: { application/json: { schema: { $ref: "#/components/schemas/App" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
  /api/v1/accounts:
    get:
      summary: Accounts the key may see, with usage and remaining budget
      responses:
        "200": { description: Accounts, content: { application/json: { schema: { type: object, properties: { items: { type: array, items: { $ref: "#/components/schemas/Account" } } } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
  /api/v1/accounts/{name}:
    parameters:
      - { name: name, in: path, required: true, schema: { type: string } }
    get:
      summary: One account with usage
      responses:
        "200": { description: Account, content: { application/json: { schema: { $ref: "#/components/schemas/Account" } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "404": { $ref: "#/components/responses/NotFound" }
    put:
      summary: Create or update an account and its budget (admin)
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties: { currency: { type: string, example: EUR }, budget_cents: { type: integer, format: int64, nullable: true }, description: { type: string } }
      responses:
        "200": { description: Account, content: { application/json: { schema: { $ref: "#/components/schemas/Account" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
  /api/v1/accounts/{name}/invoices/{period}:
    parameters:
      - { name: name, in: path, required: true, schema: { type: string } }
      - { name: period, in: path, required: true, description: YYYY-MM (UTC), schema: { type: string } }
      - { name: format, in: query, schema: { type: string, enum: [json, csv] } }
    get:
      summary: The month's invoice (issued, or a draft computed now)
      responses:
        "200":
          description: Invoice
          content:
            application/json: { schema: { $ref: "#/components/schemas/Invoice" } }
            text/csv: { schema: { type: string } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "404": { $ref: "#/components/responses/NotFound" }
  /api/v1/accounts/{name}/invoices/{period}/issue:
    parameters:
      - { name: name, in: path, required: true, schema: { type: string } }
      - { name: period, in: path, required: true, schema: { type: string } }
    post:
      summary: Issue (freeze) the month's invoice (admin); issuing again returns it unchanged
      responses:
        "200": { description: Invoice, content: { application/json: { schema: { $ref: "#/components/schemas/Invoice" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /api/v1/rates:
    get:
      summary: Rates
      responses:
        "200": { description: Rates, content: { application/json: { schema: { type: object, properties: { items: { type: array, items: { $ref: "#/components/schemas/Rate" } } } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
    post:
      summary: Add a rate (admin)
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Rate" } } } }
      responses:
        "201": { description: Rate, content: { application/json: { schema: { $ref: "#/components/schemas/Rate" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
  /api/v1/keys:
    get:
      summary: API keys (admin; secrets are never shown)
      responses:
        "200": { description: Keys, content: { application/json: { schema: { type: object, properties: { items: { type: array, items: { $ref: "#/components/schemas/APIKey" } } } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
    post:
      summary: Create a key (admin); the token is in this response only
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, role]
              properties: { name: { type: string }, role: { $ref: "#/components/schemas/Role" }, accounts: { type: array, items: { type: string } } }
      responses:
        "201":
          description: Key and its token
          content: { application/json: { schema: { type: object, properties: { key: { $ref: "#/components/schemas/APIKey" }, token: { type: string } } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
  /api/v1/keys/{id}:
    parameters:
      - { name: id, in: path, required: true, schema: { type: integer } }
    delete:
      summary: Revoke a key (admin)
      responses:
        "200": { description: The revoked key, content: { application/json: { schema: { $ref: "#/components/schemas/APIKey" } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /api/v1/audit:
    get:
      summary: The append-only audit log (admin), oldest first
      parameters:
        - { name: after, in: query, description: "entries with id above this", schema: { type: integer } }
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 1000, default: 100 } }
      responses:
        "200":
          description: Entries
          content:
            application/json:
              schema: { type: object, properties: { items: { type: array, items: { $ref: "#/components/schemas/AuditEntry" } }, next_after: { type: integer, nullable: true } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, description: "qfk_<prefix>_<secret>; also accepted as X-API-Key" }
  responses:
    BadRequest: { description: Invalid input, content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
    Unauthorized: { description: Missing, invalid or revoked key, content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
    Forbidden: { description: The key's role or accounts do not allow this, content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
    NotFound: { description: Unknown id (or another account's), content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
    TooLarge: { description: Body above 64 KiB, content: { application/json: { schema: { $ref: "#/components/schemas/Error" } } } }
  schemas:
    Error:
      type: object
      properties: { error: { type: object, properties: { message: { type: string } } } }
    RunState: { type: string, enum: [running, completed, failed, cancelled, timeout] }
    Role: { type: string, enum: [admin, recorder, reader] }
    Run:
      type: object
      required: [id, app, app_version, kind, account, user, launcher, nodes, ranks, threads, started_at, state, metrics]
      properties:
        id: { type: string, pattern: "^[A-Za-z0-9._-]{1,64}$" }
        app: { type: string }
        app_version: { type: string }
        kind: { type: string }
        account: { type: string }
        user: { type: string }
        host: { type: string }
        launcher: { type: string, example: slurm }
        slurm_job_id: { type: string }
        slurm_array_job_id: { type: string }
        slurm_array_task_id: { type: string }
        partition: { type: string }
        nodes: { type: integer }
        ranks: { type: integer }
        threads: { type: integer }
        started_at: { type: string, format: date-time }
        ended_at: { type: string, format: date-time }
        elapsed_ms: { type: integer, format: int64 }
        state: { $ref: "#/components/schemas/RunState" }
        exit_code: { type: integer }
        result_path: { type: string }
        result_size: { type: integer, format: int64 }
        result_sha256: { type: string }
        metrics: { type: object, additionalProperties: { type: number } }
        estimated_cost_cents: { type: integer, format: int64 }
        command: { type: string }
        core_hours: { type: string, readOnly: true, description: "ranks × threads × elapsed / 3600, 4 decimals" }
        cost_cents: { type: integer, format: int64, readOnly: true }
        currency: { type: string, readOnly: true }
    RunPage:
      type: object
      properties: { items: { type: array, items: { $ref: "#/components/schemas/Run" } }, next_cursor: { type: string, nullable: true } }
    App:
      type: object
      properties:
        name: { type: string }
        kind: { type: string }
        versions: { type: array, items: { type: object, properties: { version: { type: string }, source_commit: { type: string }, created_at: { type: string, format: date-time } } } }
    Account:
      type: object
      properties:
        name: { type: string }
        currency: { type: string }
        budget_cents: { type: integer, format: int64 }
        description: { type: string }
        used_cents: { type: integer, format: int64 }
        remaining_cents: { type: integer, format: int64 }
        runs: { type: integer }
        core_hours: { type: string }
    Rate:
      type: object
      required: [partition, currency, core_hour_micros, node_hour_micros, valid_from]
      properties:
        id: { type: integer, readOnly: true }
        partition: { type: string, description: "Slurm partition, or * for the default" }
        currency: { type: string }
        core_hour_micros: { type: integer, format: int64 }
        node_hour_micros: { type: integer, format: int64 }
        valid_from: { type: string, format: date-time }
        valid_to: { type: string, format: date-time }
    Invoice:
      type: object
      properties:
        id: { type: integer }
        account: { type: string }
        period: { type: string }
        status: { type: string, enum: [draft, issued] }
        currency: { type: string }
        total_cents: { type: integer, format: int64 }
        issued_at: { type: string, format: date-time }
        lines:
          type: array
          items:
            type: object
            properties: { app: { type: string }, runs: { type: integer }, core_hours: { type: string }, core_ms: { type: integer, format: int64 }, amount_cents: { type: integer, format: int64 }, currency: { type: string } }
    APIKey:
      type: object
      properties:
        id: { type: integer }
        name: { type: string }
        prefix: { type: string }
        role: { $ref: "#/components/schemas/Role" }
        accounts: { type: array, items: { type: string } }
        created_at: { type: string, format: date-time }
        revoked_at: { type: string, format: date-time }
    AuditEntry:
      type: object
      properties: { id: { type: integer }, at: { type: string, format: date-time }, actor: { type: string }, action: { type: string }, target: { type: string }, detail: { type: string } }

"""#
}
