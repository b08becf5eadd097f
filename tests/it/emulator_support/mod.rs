//! Helpers for the emulator's HTTP tests: a plain `reqwest` client (deliberately not the
//! project's Stripe client, so wire bugs on either side cannot cancel out).
#![allow(dead_code)]

use reqwest::header::HeaderMap;
use serde_json::Value;

use redactctl::emulator::{spawn, Config, EmulatorHandle};

pub const KEY: &str = "sk_test_emulatorTests1234";

pub async fn start(config: Config) -> EmulatorHandle {
    spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// One answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn id(&self) -> String {
        self.body["id"].as_str().expect("an id").to_string()
    }
    pub fn error_code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
    pub fn error_param(&self) -> Option<&str> {
        self.body["error"]["param"].as_str()
    }
}

/// A client bound to one emulator, key and optional connected account.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    pub account: Option<String>,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(emu: &EmulatorHandle) -> Api {
        Api {
            base: emu.base_url(),
            key: KEY.to_string(),
            account: None,
            client: reqwest::Client::new(),
        }
    }

    pub fn with_key(&self, key: &str) -> Api {
        Api {
            key: key.to_string(),
            ..self.clone()
        }
    }

    pub fn with_account(&self, account: &str) -> Api {
        Api {
            account: Some(account.to_string()),
            ..self.clone()
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.key)
            .header("Stripe-Version", "2026-09-30.preview");
        if let Some(a) = &self.account {
            r = r.header("Stripe-Account", a);
        }
        r
    }

    pub async fn send(r: reqwest::RequestBuilder) -> Resp {
        let resp = r.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).expect("JSON body");
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        Self::send(self.req(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, form: &str) -> Resp {
        Self::send(self.post_builder(path, form)).await
    }

    pub fn post_builder(&self, path: &str, form: &str) -> reqwest::RequestBuilder {
        self.req(reqwest::Method::POST, path)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_string())
    }

    pub async fn post_idem(&self, path: &str, form: &str, key: &str) -> Resp {
        Self::send(self.post_builder(path, form).header("Idempotency-Key", key)).await
    }

    pub async fn create(&self, form: &str) -> Resp {
        self.post("/v1/privacy/redaction_jobs", form).await
    }

    pub async fn job(&self, id: &str) -> Resp {
        self.get(&format!("/v1/privacy/redaction_jobs/{id}?expand[]=objects"))
            .await
    }

    pub async fn action(&self, id: &str, action: &str) -> Resp {
        self.post(&format!("/v1/privacy/redaction_jobs/{id}/{action}"), "")
            .await
    }
}
