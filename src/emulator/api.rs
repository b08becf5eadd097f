//! The API layer: routes, parameter checks with Stripe's error codes, and the JSON that
//! goes on the wire. It turns a parsed request into a state-machine call and the result
//! into Stripe's object or error body. No sockets here: the server feeds it.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::form::Node;
use super::graph::ObjectRecord;
use super::kinds::Kind;
use super::state::{
    Behavior, Delays, Job, NsKey, StateError, Status, ValidationError, World, MAX_ROOTS,
};

/// Stripe's error body, with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stripe's `type` (`invalid_request_error`, `api_error`, `idempotency_error`).
    pub kind: &'static str,
    /// Stripe's `code`, when it has one.
    pub code: Option<&'static str>,
    /// The offending parameter.
    pub param: Option<String>,
    /// The human message.
    pub message: String,
}

impl ApiError {
    /// A 400 `invalid_request_error`.
    pub fn invalid(
        message: impl Into<String>,
        code: Option<&'static str>,
        param: Option<&str>,
    ) -> ApiError {
        ApiError {
            status: 400,
            kind: "invalid_request_error",
            code,
            param: param.map(str::to_string),
            message: message.into(),
        }
    }

    /// The JSON body `{"error": {...}}`.
    pub fn body(&self) -> Value {
        let mut e = serde_json::Map::new();
        if let Some(code) = self.code {
            e.insert("code".into(), json!(code));
            e.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        e.insert("message".into(), json!(self.message));
        if let Some(p) = &self.param {
            e.insert("param".into(), json!(p));
        }
        e.insert("type".into(), json!(self.kind));
        json!({ "error": Value::Object(e) })
    }

    /// A 500 `api_error`.
    pub fn internal() -> ApiError {
        ApiError {
            status: 500,
            kind: "api_error",
            code: None,
            param: None,
            message: "An unknown error occurred while processing your request. (emulated fault)"
                .into(),
        }
    }

    /// A 429 `rate_limit`.
    pub fn rate_limited() -> ApiError {
        ApiError {
            status: 429,
            kind: "invalid_request_error",
            code: Some("rate_limit"),
            param: None,
            message: "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.".into(),
        }
    }

    /// A 401 for a missing or bad key.
    pub fn unauthorized(message: String) -> ApiError {
        ApiError {
            status: 401,
            kind: "invalid_request_error",
            code: None,
            param: None,
            message,
        }
    }

    /// `idempotency_error`: same key, different request.
    pub fn idempotency(key: &str) -> ApiError {
        ApiError {
            status: 400,
            kind: "idempotency_error",
            code: None,
            param: None,
            message: format!("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."),
        }
    }
}

impl From<StateError> for ApiError {
    fn from(e: StateError) -> ApiError {
        match &e {
            // Stripe names a missing path resource with `param: id`.
            StateError::NotFound { .. } => ApiError {
                status: 404,
                kind: "invalid_request_error",
                code: Some("resource_missing"),
                param: Some("id".into()),
                message: e.to_string(),
            },
            StateError::NoSuchObject { kind, index, .. } => ApiError::invalid(
                e.to_string(),
                Some("resource_missing"),
                Some(&format!("objects[{kind}][{index}]")),
            ),
            StateError::TooManyObjects(_) | StateError::NoObjects => {
                ApiError::invalid(e.to_string(), None, Some("objects"))
            }
            StateError::WrongStatus { .. } | StateError::SessionWrongStatus(_) => {
                ApiError::invalid(e.to_string(), None, None)
            }
        }
    }
}

/// A recognised endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/privacy/redaction_jobs`.
    ListJobs,
    /// `POST /v1/privacy/redaction_jobs`.
    CreateJob,
    /// `GET /v1/privacy/redaction_jobs/:id`.
    GetJob(String),
    /// `POST /v1/privacy/redaction_jobs/:id`.
    UpdateJob(String),
    /// `POST …/:id/validate`.
    ValidateJob(String),
    /// `POST …/:id/run`.
    RunJob(String),
    /// `POST …/:id/cancel`.
    CancelJob(String),
    /// `GET …/:id/validation_errors`.
    JobValidationErrors(String),
    /// `GET /v1/account`.
    Account,
    /// `GET /v1/identity/verification_sessions/:id`.
    GetSession(String),
    /// `POST /v1/identity/verification_sessions/:id/redact`.
    RedactSession(String),
    /// `GET /v1/charges/:id` and the other objects a job can name or reach (see
    /// [`super::objects`]): the Stripe object type and the id.
    GetObject(&'static str, String),
    /// Nothing here: 404 "Unrecognized request URL".
    Unknown,
}

impl Route {
    /// Matches a method and a path.
    pub fn parse(method: &str, path: &str) -> Route {
        let path = path.trim_end_matches('/');
        let segs: Vec<&str> = path.split('/').skip(1).collect();
        let id = |s: &str| s.to_string();
        match (method, segs.as_slice()) {
            ("GET", ["v1", "privacy", "redaction_jobs"]) => Route::ListJobs,
            ("POST", ["v1", "privacy", "redaction_jobs"]) => Route::CreateJob,
            ("GET", ["v1", "privacy", "redaction_jobs", j]) => Route::GetJob(id(j)),
            ("POST", ["v1", "privacy", "redaction_jobs", j]) => Route::UpdateJob(id(j)),
            ("POST", ["v1", "privacy", "redaction_jobs", j, "validate"]) => {
                Route::ValidateJob(id(j))
            }
            ("POST", ["v1", "privacy", "redaction_jobs", j, "run"]) => Route::RunJob(id(j)),
            ("POST", ["v1", "privacy", "redaction_jobs", j, "cancel"]) => Route::CancelJob(id(j)),
            ("GET", ["v1", "privacy", "redaction_jobs", j, "validation_errors"]) => {
                Route::JobValidationErrors(id(j))
            }
            ("GET", ["v1", "account"]) => Route::Account,
            ("GET", ["v1", "identity", "verification_sessions", s]) => Route::GetSession(id(s)),
            ("POST", ["v1", "identity", "verification_sessions", s, "redact"]) => {
                Route::RedactSession(id(s))
            }
            ("GET", s) => match super::objects::parse(s) {
                Some((object, id)) => Route::GetObject(object, id),
                None => Route::Unknown,
            },
            _ => Route::Unknown,
        }
    }

    /// The route template used in stats and per-endpoint rate limits.
    pub fn template(&self, method: &str) -> String {
        if let Route::GetObject(object, _) = self {
            return format!("{method} {}", super::objects::template(object));
        }
        let t = match self {
            Route::ListJobs | Route::CreateJob => "/v1/privacy/redaction_jobs",
            Route::GetJob(_) | Route::UpdateJob(_) => "/v1/privacy/redaction_jobs/:id",
            Route::ValidateJob(_) => "/v1/privacy/redaction_jobs/:id/validate",
            Route::RunJob(_) => "/v1/privacy/redaction_jobs/:id/run",
            Route::CancelJob(_) => "/v1/privacy/redaction_jobs/:id/cancel",
            Route::JobValidationErrors(_) => "/v1/privacy/redaction_jobs/:id/validation_errors",
            Route::Account => "/v1/account",
            Route::GetSession(_) => "/v1/identity/verification_sessions/:id",
            Route::RedactSession(_) => "/v1/identity/verification_sessions/:id/redact",
            Route::GetObject(..) | Route::Unknown => "(unknown)",
        };
        format!("{method} {t}")
    }
}

/// What a request runs against.
pub struct Ctx<'a> {
    /// The request's namespace.
    pub ns: &'a NsKey,
    /// The key's account (for `GET /v1/account`).
    pub account_id: &'a str,
    /// Now, unix ms.
    pub now_ms: i64,
    /// Phase lengths.
    pub delays: &'a Delays,
    /// The HTTP method (for "Unrecognized request URL (METHOD: /path)").
    pub method: &'a str,
    /// The request path.
    pub path: &'a str,
}

type Params = BTreeMap<String, Node>;

fn only(params: &Params, allowed: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::invalid(
            format!("Received unknown parameter: {k}"),
            Some("parameter_unknown"),
            Some(k),
        )),
        None => Ok(()),
    }
}

/// A scalar parameter; `Ok(None)` when absent; an empty string is `parameter_invalid_empty`.
fn scalar<'p>(params: &'p Params, name: &str) -> Result<Option<&'p str>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(Node::Value(v)) if v.is_empty() => Err(invalid_empty(name)),
        Some(Node::Value(v)) => Ok(Some(v)),
        Some(_) => Err(ApiError::invalid(
            format!("Invalid {name}: must be a string"),
            None,
            Some(name),
        )),
    }
}

fn invalid_empty(name: &str) -> ApiError {
    ApiError::invalid(
        format!("You passed an empty string for '{name}'. We assume empty values are an attempt to unset a parameter; however '{name}' cannot be unset. You should remove '{name}' from your request or supply a non-empty value."),
        Some("parameter_invalid_empty"),
        Some(name),
    )
}

fn behavior(params: &Params) -> Result<Option<Behavior>, ApiError> {
    match scalar(params, "validation_behavior")? {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ApiError::invalid(
                format!("Invalid validation_behavior: must be one of error or fix (got '{v}')"),
                None,
                Some("validation_behavior"),
            )
        }),
    }
}

/// The `expand` list; each entry must be in `allowed`.
fn expand(params: &Params, allowed: &[&str]) -> Result<Vec<String>, ApiError> {
    let items: Vec<&Node> = match params.get("expand") {
        None => return Ok(Vec::new()),
        Some(Node::List(l)) => l.iter().collect(),
        Some(n @ Node::Value(_)) => vec![n],
        Some(Node::Map(_)) => {
            return Err(ApiError::invalid("Invalid array", None, Some("expand")));
        }
    };
    let mut out = Vec::new();
    for item in items {
        let Some(v) = item.as_str() else {
            return Err(ApiError::invalid("Invalid array", None, Some("expand")));
        };
        if !allowed.contains(&v) {
            return Err(ApiError::invalid(
                format!("This property cannot be expanded ({v})."),
                None,
                Some("expand"),
            ));
        }
        out.push(v.to_string());
    }
    Ok(out)
}

/// `limit`, `starting_after`, `ending_before`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// 1 to 100, default 10.
    pub limit: usize,
    /// Cursor: older than this id.
    pub starting_after: Option<String>,
    /// Cursor: newer than this id.
    pub ending_before: Option<String>,
}

fn page(params: &Params) -> Result<Page, ApiError> {
    let limit = match scalar(params, "limit")? {
        None => 10,
        Some(v) => {
            let n: i64 = v.parse().map_err(|_| {
                ApiError::invalid(format!("Invalid integer: {v}"), None, Some("limit"))
            })?;
            if !(1..=100).contains(&n) {
                return Err(ApiError::invalid(
                    "Invalid limit: must be an integer between 1 and 100",
                    None,
                    Some("limit"),
                ));
            }
            n as usize
        }
    };
    let starting_after = scalar(params, "starting_after")?.map(str::to_string);
    let ending_before = scalar(params, "ending_before")?.map(str::to_string);
    if starting_after.is_some() && ending_before.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            None,
            Some("ending_before"),
        ));
    }
    Ok(Page {
        limit,
        starting_after,
        ending_before,
    })
}

fn cursor_missing(e: StateError, param: &str) -> ApiError {
    let mut api = ApiError::from(e);
    api.status = 400;
    api.param = Some(param.to_string());
    api
}

/// The `objects` of a create request.
fn objects(params: &Params) -> Result<BTreeMap<Kind, Vec<String>>, ApiError> {
    let map = match params.get("objects") {
        None => {
            return Err(ApiError::invalid(
                "Missing required param: objects.",
                Some("parameter_missing"),
                Some("objects"),
            ))
        }
        Some(Node::Value(v)) if v.is_empty() => return Err(invalid_empty("objects")),
        Some(Node::Map(m)) => m,
        Some(_) => return Err(ApiError::invalid("Invalid hash", None, Some("objects"))),
    };
    let mut out: BTreeMap<Kind, Vec<String>> = BTreeMap::new();
    for (kind_name, node) in map {
        let param = format!("objects[{kind_name}]");
        let Ok(kind) = kind_name.parse::<Kind>() else {
            return Err(ApiError::invalid(
                format!("Received unknown parameter: {param}"),
                Some("parameter_unknown"),
                Some(&param),
            ));
        };
        let items = match node {
            Node::List(items) => items,
            Node::Value(v) if v.is_empty() => return Err(invalid_empty(&param)),
            _ => return Err(ApiError::invalid("Invalid array", None, Some(&param))),
        };
        for (i, item) in items.iter().enumerate() {
            let p = format!("{param}[{i}]");
            let id = match item {
                Node::Value(v) if v.is_empty() => return Err(invalid_empty(&p)),
                Node::Value(v) => v,
                _ => return Err(ApiError::invalid("Invalid string", None, Some(&p))),
            };
            if !kind.accepts_id(id) {
                let singular = kind.object_type();
                return Err(ApiError::invalid(
                    format!("No such {singular}: '{id}'"),
                    Some("resource_missing"),
                    Some(&p),
                ));
            }
            let ids = out.entry(kind).or_default();
            // Stripe's docs are silent; silently merging would make a job name fewer
            // objects than the request did, so the stricter reading: refuse.
            if ids.contains(id) {
                return Err(ApiError::invalid(
                    format!(
                        "Duplicate object id '{id}' in {param}: each object can be named once."
                    ),
                    Some("parameter_invalid"),
                    Some(&p),
                ));
            }
            ids.push(id.clone());
        }
    }
    let n: usize = out.values().map(Vec::len).sum();
    if n > MAX_ROOTS {
        return Err(StateError::TooManyObjects(n).into());
    }
    if n == 0 {
        return Err(ApiError::invalid(
            "Missing required param: objects.",
            Some("parameter_missing"),
            Some("objects"),
        ));
    }
    Ok(out)
}

/// A request whose parameters passed validation: what remains is to run it. Stripe saves
/// an idempotent result only from this point on ("once the endpoint began executing").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Create a job.
    Create {
        /// Root objects by kind.
        objects: BTreeMap<Kind, Vec<String>>,
        /// `validation_behavior` (default `error`).
        behavior: Behavior,
        /// `expand[]=objects`.
        expand: bool,
    },
    /// Retrieve a job.
    Get {
        /// The job.
        id: String,
        /// `expand[]=objects`.
        expand: bool,
    },
    /// Update a job.
    Update {
        /// The job.
        id: String,
        /// The new behaviour, if given.
        behavior: Option<Behavior>,
        /// `expand[]=objects`.
        expand: bool,
    },
    /// `validate`, `run` or `cancel`.
    Action {
        /// The job.
        id: String,
        /// Which action (the route).
        route: Route,
        /// `expand[]=objects`.
        expand: bool,
    },
    /// List jobs.
    List {
        /// `status` filter.
        status: Option<Status>,
        /// `limit` and cursors.
        page: Page,
        /// `expand[]=data.objects`.
        expand: bool,
    },
    /// List a job's validation errors.
    Errors {
        /// The job.
        id: String,
        /// `limit` and cursors.
        page: Page,
    },
    /// `GET /v1/account`.
    Account,
    /// Retrieve a charge, payment intent, invoice… (see [`super::objects`]).
    Object {
        /// Its Stripe object type.
        object: &'static str,
        /// Its id.
        id: String,
    },
    /// Retrieve (`redact: false`) or redact a verification session.
    Session {
        /// The session.
        id: String,
        /// `POST …/redact`.
        redact: bool,
    },
}

/// Checks a request's parameters (no state is read or changed): the errors here are the
/// ones Stripe answers before an endpoint begins executing.
pub fn parse_call(ctx: &Ctx, route: &Route, params: &Params) -> Result<Call, ApiError> {
    let objects_expanded = |params: &Params| -> Result<bool, ApiError> {
        Ok(!expand(params, &["objects"])?.is_empty())
    };
    match route {
        Route::CreateJob => {
            only(params, &["objects", "validation_behavior", "expand"])?;
            Ok(Call::Create {
                objects: objects(params)?,
                behavior: behavior(params)?.unwrap_or_default(),
                expand: objects_expanded(params)?,
            })
        }
        Route::GetJob(id) => {
            only(params, &["expand"])?;
            Ok(Call::Get {
                id: id.clone(),
                expand: objects_expanded(params)?,
            })
        }
        Route::UpdateJob(id) => {
            only(params, &["validation_behavior", "expand"])?;
            Ok(Call::Update {
                id: id.clone(),
                behavior: behavior(params)?,
                expand: objects_expanded(params)?,
            })
        }
        Route::ValidateJob(id) | Route::RunJob(id) | Route::CancelJob(id) => {
            only(params, &["expand"])?;
            Ok(Call::Action {
                id: id.clone(),
                route: route.clone(),
                expand: objects_expanded(params)?,
            })
        }
        Route::ListJobs => {
            only(params, &["limit", "starting_after", "ending_before", "status", "expand"])?;
            let page = page(params)?;
            let expand = !expand(params, &["data.objects"])?.is_empty();
            let status = match scalar(params, "status")? {
                None => None,
                Some(s) => Some(s.parse::<Status>().map_err(|_| {
                    ApiError::invalid(
                        format!(
                            "Invalid status: must be one of {}",
                            Status::ALL.map(Status::as_str).join(", ")
                        ),
                        None,
                        Some("status"),
                    )
                })?),
            };
            Ok(Call::List { status, page, expand })
        }
        Route::JobValidationErrors(id) => {
            only(params, &["limit", "starting_after", "ending_before", "expand"])?;
            let page = page(params)?;
            expand(params, &[])?;
            Ok(Call::Errors { id: id.clone(), page })
        }
        Route::Account => {
            only(params, &["expand"])?;
            expand(params, &[])?;
            Ok(Call::Account)
        }
        Route::GetSession(id) | Route::RedactSession(id) => {
            only(params, &["expand"])?;
            expand(params, &[])?;
            Ok(Call::Session {
                id: id.clone(),
                redact: matches!(route, Route::RedactSession(_)),
            })
        }
        Route::GetObject(object, id) => {
            only(params, &["expand"])?;
            expand(params, &[])?;
            Ok(Call::Object {
                object,
                id: id.clone(),
            })
        }
        Route::Unknown => Err(ApiError {
            status: 404,
            kind: "invalid_request_error",
            code: None,
            param: None,
            message: format!(
                "Unrecognized request URL ({}: {}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
                ctx.method, ctx.path
            ),
        }),
    }
}

/// Runs one request against the world: `(status, body)` or Stripe's error. Parameter
/// errors and execution errors are not told apart here: see [`parse_call`] and
/// [`execute`] for that.
pub fn dispatch(
    world: &mut World,
    ctx: &Ctx,
    route: &Route,
    params: &Params,
) -> Result<(u16, Value), ApiError> {
    let call = parse_call(ctx, route, params)?;
    execute(world, ctx, &call)
}

/// Runs a call whose parameters were checked.
pub fn execute(world: &mut World, ctx: &Ctx, call: &Call) -> Result<(u16, Value), ApiError> {
    let (ns, now, d) = (ctx.ns, ctx.now_ms, ctx.delays);
    let job_out = |job: &Job, expand: bool| (200, render_job(job, expand));
    match call {
        Call::Create {
            objects,
            behavior,
            expand,
        } => {
            let job = world.create_job(ns, objects.clone(), *behavior, now, d)?;
            Ok(job_out(&job, *expand))
        }
        Call::Get { id, expand } => {
            let job = world.job(ns, id, now, d)?;
            Ok(job_out(&job, *expand))
        }
        Call::Update {
            id,
            behavior,
            expand,
        } => {
            let job = world.update_job(ns, id, *behavior, now, d)?;
            Ok(job_out(&job, *expand))
        }
        Call::Action { id, route, expand } => {
            let job = match route {
                Route::ValidateJob(_) => world.validate_job(ns, id, now, d)?,
                Route::RunJob(_) => world.run_job(ns, id, now, d)?,
                _ => world.cancel_job(ns, id, now, d)?,
            };
            Ok(job_out(&job, *expand))
        }
        Call::List {
            status,
            page: p,
            expand,
        } => {
            world.advance(ns, now, d);
            let nsr = world.ns_mut(ns);
            let (jobs, has_more) = nsr
                .list_jobs(
                    *status,
                    p.limit,
                    p.starting_after.as_deref(),
                    p.ending_before.as_deref(),
                )
                .map_err(|e| {
                    cursor_missing(
                        e,
                        if p.starting_after.is_some() {
                            "starting_after"
                        } else {
                            "ending_before"
                        },
                    )
                })?;
            let data: Vec<Value> = jobs.iter().map(|j| render_job(j, *expand)).collect();
            Ok((
                200,
                list(data, has_more, "/v1/privacy/redaction_jobs".into()),
            ))
        }
        Call::Errors { id, page: p } => {
            let job = world.job(ns, id, now, d)?;
            let errors = &job.errors;
            let pos = |cursor: &str, param: &str| {
                errors.iter().position(|e| e.id == cursor).ok_or_else(|| {
                    ApiError::invalid(
                        format!("No such privacy.redaction_job_validation_error: '{cursor}'"),
                        Some("resource_missing"),
                        Some(param),
                    )
                })
            };
            let (slice, has_more) = if let Some(before) = &p.ending_before {
                let end = pos(before, "ending_before")?;
                let start = end.saturating_sub(p.limit);
                (&errors[start..end], start > 0)
            } else {
                let start = match &p.starting_after {
                    Some(after) => pos(after, "starting_after")? + 1,
                    None => 0,
                };
                let end = start.saturating_add(p.limit).min(errors.len());
                (&errors[start..end], end < errors.len())
            };
            let data = slice.iter().map(render_validation_error).collect();
            Ok((
                200,
                list(
                    data,
                    has_more,
                    format!("/v1/privacy/redaction_jobs/{id}/validation_errors"),
                ),
            ))
        }
        Call::Account => {
            let id = ns
                .account
                .clone()
                .unwrap_or_else(|| ctx.account_id.to_string());
            let connected = id != ctx.account_id;
            Ok((
                200,
                json!({
                    "id": id,
                    "object": "account",
                    "type": if connected { "custom" } else { "standard" },
                    "country": "US",
                    "default_currency": "usd",
                    "charges_enabled": true,
                    "payouts_enabled": true,
                    "details_submitted": true,
                    "business_profile": {"name": "redactctl emulator"},
                }),
            ))
        }
        Call::Object { object, id } => Ok((200, super::objects::retrieve(world, ns, object, id)?)),
        Call::Session { id, redact } => {
            let rec = if *redact {
                world.redact_session(ns, id, now, d)?
            } else {
                world.session(ns, id, now, d)?
            };
            Ok((200, render_session(&rec, ns.livemode)))
        }
    }
}

fn list(data: Vec<Value>, has_more: bool, url: String) -> Value {
    json!({"object": "list", "data": data, "has_more": has_more, "url": url})
}

/// A job as Stripe shows it; `objects` only when expanded.
pub fn render_job(job: &Job, with_objects: bool) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(job.id));
    m.insert("object".into(), json!("privacy.redaction_job"));
    m.insert("created".into(), json!(job.created));
    m.insert("livemode".into(), json!(job.livemode));
    if with_objects {
        // Only the kinds the RedactionJob object has a field for: a card named on
        // create does not read back.
        let objects: serde_json::Map<String, Value> = Kind::ALL
            .iter()
            .filter(|k| k.reads_back())
            .map(|k| {
                let v = job.objects.get(k).map_or(Value::Null, |ids| json!(ids));
                (k.wire_name().to_string(), v)
            })
            .collect();
        m.insert("objects".into(), Value::Object(objects));
    }
    m.insert("status".into(), json!(job.status.as_str()));
    m.insert("validation_behavior".into(), json!(job.behavior.as_str()));
    // Null until a validation attempt has finished; then the attempt's list, empty when
    // it found nothing (a `ready` job lists no errors: its fixes are not errors).
    let errors = if matches!(job.status, Status::Created | Status::Validating) {
        Value::Null
    } else {
        list(
            job.errors
                .iter()
                .take(10)
                .map(render_validation_error)
                .collect(),
            job.errors.len() > 10,
            format!("/v1/privacy/redaction_jobs/{}/validation_errors", job.id),
        )
    };
    m.insert("validation_errors".into(), errors);
    Value::Object(m)
}

/// A `privacy.redaction_job_validation_error`.
pub fn render_validation_error(e: &ValidationError) -> Value {
    let erroring = match (&e.object_id, &e.object_type) {
        (Some(id), Some(t)) => json!({"id": id, "object_type": t}),
        _ => Value::Null,
    };
    json!({
        "id": e.id,
        "object": "privacy.redaction_job_validation_error",
        "code": e.code,
        "erroring_object": erroring,
        "message": e.message,
    })
}

/// An `identity.verification_session`; redacted personal fields read `[redacted]`.
pub fn render_session(rec: &ObjectRecord, livemode: bool) -> Value {
    let redacted = rec
        .redaction
        .as_ref()
        .is_some_and(|r| r.status == "redacted");
    json!({
        "id": rec.id,
        "object": "identity.verification_session",
        "client_secret": null,
        "created": rec.created.unwrap_or(0),
        "last_error": null,
        "last_verification_report": null,
        "livemode": livemode,
        "metadata": {},
        "options": {},
        "redaction": rec.redaction.as_ref().map(|r| json!({"status": r.status})),
        "status": rec.state.clone().unwrap_or_else(|| "verified".into()),
        "type": "document",
        "url": null,
        "verified_outputs": if redacted { json!({"first_name": "[redacted]", "last_name": "[redacted]", "dob": null, "address": null, "id_number": null}) } else { Value::Null },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::form::parse;

    /// Every id exists: these tests are about parameters, not existence.
    fn lenient() -> World {
        let mut w = World::new("s", vec![]);
        w.set_policy(crate::emulator::state::Policy {
            unknown_objects_exist: true,
            ..Default::default()
        });
        w
    }

    fn run(world: &mut World, route: Route, body: &str) -> Result<(u16, Value), ApiError> {
        let ns = NsKey::test();
        let d = Delays::default();
        let ctx = Ctx {
            ns: &ns,
            account_id: "acct_1",
            now_ms: 1_800_000_000_000,
            delays: &d,
            method: "POST",
            path: "/v1/test",
        };
        dispatch(world, &ctx, &route, &parse(body.as_bytes()).unwrap())
    }

    #[test]
    fn routes_and_templates() {
        assert_eq!(
            Route::parse("POST", "/v1/privacy/redaction_jobs/prj_1/run"),
            Route::RunJob("prj_1".into())
        );
        assert_eq!(
            Route::parse("POST", "/v1/privacy/redaction_jobs/prj_1/run").template("POST"),
            "POST /v1/privacy/redaction_jobs/:id/run"
        );
        assert_eq!(
            Route::parse("DELETE", "/v1/privacy/redaction_jobs/prj_1"),
            Route::Unknown
        );
        assert_eq!(Route::parse("GET", "/v1/account/"), Route::Account);
    }

    #[test]
    fn create_parameter_errors() {
        let mut w = lenient();
        let e = run(&mut w, Route::CreateJob, "").unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            (Some("parameter_missing"), Some("objects"))
        );
        let e = run(
            &mut w,
            Route::CreateJob,
            "objects[customers][]=cus_1&colour=red",
        )
        .unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            (Some("parameter_unknown"), Some("colour"))
        );
        let e = run(&mut w, Route::CreateJob, "objects[people][]=p_1").unwrap_err();
        assert_eq!(e.param.as_deref(), Some("objects[people]"));
        let e = run(&mut w, Route::CreateJob, "objects[customers][]=").unwrap_err();
        assert_eq!(e.code, Some("parameter_invalid_empty"));
        let e = run(
            &mut w,
            Route::CreateJob,
            "objects[customers][]=cus_1&validation_behavior=",
        )
        .unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            (Some("parameter_invalid_empty"), Some("validation_behavior"))
        );
        let e = run(
            &mut w,
            Route::CreateJob,
            "objects[customers][]=cus_1&validation_behavior=shred",
        )
        .unwrap_err();
        assert_eq!(
            (e.status, e.param.as_deref()),
            (400, Some("validation_behavior"))
        );
        let e = run(&mut w, Route::CreateJob, "objects[customers][]=pi_1").unwrap_err();
        assert_eq!(e.code, Some("resource_missing"));
        let eleven: String = (0..11)
            .map(|i| format!("objects[customers][]=cus_{i}&"))
            .collect();
        let e = run(&mut w, Route::CreateJob, &eleven).unwrap_err();
        assert_eq!((e.status, e.param.as_deref()), (400, Some("objects")));
        let e = run(
            &mut w,
            Route::CreateJob,
            "objects[customers][]=cus_1&expand[]=nope",
        )
        .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("expand"));
        assert_eq!(w.job_count(), 0, "no job is created by a refused request");
    }

    #[test]
    fn objects_only_when_expanded() {
        let mut w = lenient();
        let (_, plain) = run(&mut w, Route::CreateJob, "objects[customers][0]=cus_1").unwrap();
        assert!(plain.get("objects").is_none());
        assert_eq!(plain["status"], "validating");
        assert_eq!(plain["validation_behavior"], "error");
        let id = plain["id"].as_str().unwrap().to_string();
        let (_, ex) = run(&mut w, Route::GetJob(id), "expand[]=objects").unwrap();
        assert_eq!(ex["objects"]["customers"], json!(["cus_1"]));
        assert_eq!(ex["objects"]["charges"], Value::Null);
        assert_eq!(ex["status"], "ready");
    }

    proptest::proptest! {
        /// Random bodies on every route: an answer (2xx or 4xx), never a panic or a 5xx.
        #[test]
        fn random_bodies_get_an_answer(body in "[a-z_\\[\\]0-9=&%]{0,60}", which in 0usize..6) {
            let mut w = lenient();
            let id = run(&mut w, Route::CreateJob, "objects[customers][]=cus_1")
                .map(|(_, v)| v["id"].as_str().unwrap_or_default().to_string())
                .unwrap_or_default();
            let route = match which {
                0 => Route::CreateJob,
                1 => Route::UpdateJob(id),
                2 => Route::ListJobs,
                3 => Route::JobValidationErrors(id),
                4 => Route::RunJob(id),
                _ => Route::RedactSession("vs_1".into()),
            };
            let ns = NsKey::test();
            let d = Delays::default();
            let ctx = Ctx { ns: &ns, account_id: "acct_1", now_ms: 1_800_000_000_000, delays: &d, method: "POST", path: "/v1/test" };
            if let Ok(params) = parse(body.as_bytes()) {
                match dispatch(&mut w, &ctx, &route, &params) {
                    Ok((status, _)) => proptest::prop_assert_eq!(status, 200),
                    Err(e) => proptest::prop_assert!((400..500).contains(&e.status), "{:?}", e),
                }
            }
        }
    }

    #[test]
    fn error_body_shape() {
        let b = ApiError::rate_limited().body();
        assert_eq!(b["error"]["code"], "rate_limit");
        assert_eq!(b["error"]["type"], "invalid_request_error");
        let nf: ApiError = StateError::NotFound {
            kind: "privacy.redaction_job",
            id: "prj_x".into(),
        }
        .into();
        assert_eq!(nf.status, 404);
        assert_eq!(
            nf.body()["error"]["message"],
            "No such privacy.redaction_job: 'prj_x'"
        );
    }
}
