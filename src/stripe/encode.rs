//! Stripe's bracket-style form and query encoding (`objects[customers][0]=cus_1`,
//! `expand[0]=data.objects`), written by hand: the whole surface is a handful of flat and
//! one-level-nested parameters, and owning the encoder keeps the wire format obvious.

use crate::kinds::ObjectRef;

use super::models::{JobStatus, ValidationBehavior};

/// Ordered `(name, value)` pairs, before percent-encoding.
pub type Params = Vec<(String, String)>;

/// `objects[KIND][i]=ID` for every object, kinds in sort order and ids in sort order within
/// a kind (indices restart per kind, as the SDKs send them).
pub fn objects_params(objects: &[ObjectRef]) -> Params {
    let mut sorted: Vec<&ObjectRef> = objects.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut out = Params::new();
    let mut index = 0usize;
    let mut previous = None;
    for o in sorted {
        if previous != Some(o.kind) {
            index = 0;
            previous = Some(o.kind);
        }
        out.push((
            format!("objects[{}][{index}]", o.kind.as_str()),
            o.id.clone(),
        ));
        index += 1;
    }
    out
}

/// `validation_behavior=…`.
pub fn behavior_param(behavior: &ValidationBehavior) -> (String, String) {
    (
        "validation_behavior".to_string(),
        behavior.as_str().to_string(),
    )
}

/// `expand[i]=PATH` for each path.
pub fn expand_params(paths: &[&str]) -> Params {
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("expand[{i}]"), (*p).to_string()))
        .collect()
}

/// One page of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// 1–100; Stripe's default is 10.
    pub limit: Option<u32>,
    /// The id of the last object of the previous page (paging towards older objects).
    pub starting_after: Option<String>,
    /// The id of the first object of the next page (paging towards newer objects).
    pub ending_before: Option<String>,
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Ask for `objects` on every job (`expand[]=data.objects`).
    pub expand_objects: bool,
}

impl ListQuery {
    /// The query string parameters, in a fixed order.
    pub fn params(&self) -> Params {
        let mut out = Params::new();
        if let Some(limit) = self.limit {
            out.push(("limit".into(), limit.to_string()));
        }
        if let Some(s) = &self.starting_after {
            out.push(("starting_after".into(), s.clone()));
        }
        if let Some(s) = &self.ending_before {
            out.push(("ending_before".into(), s.clone()));
        }
        if let Some(s) = &self.status {
            out.push(("status".into(), s.as_str().to_string()));
        }
        if self.expand_objects {
            out.extend(expand_params(&["data.objects"]));
        }
        out
    }
}

/// Percent-encodes pairs as `application/x-www-form-urlencoded` (also used for queries).
pub fn encode(params: &[(String, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ObjectKind;

    #[test]
    fn objects_are_grouped_by_kind_with_per_kind_indices() {
        let objs = vec![
            ObjectRef::new(ObjectKind::PaymentIntents, "pi_2"),
            ObjectRef::new(ObjectKind::Customers, "cus_1"),
            ObjectRef::new(ObjectKind::PaymentIntents, "pi_1"),
            ObjectRef::new(ObjectKind::Customers, "cus_1"),
        ];
        let p = objects_params(&objs);
        let as_str: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            as_str,
            vec![
                ("objects[customers][0]", "cus_1"),
                ("objects[payment_intents][0]", "pi_1"),
                ("objects[payment_intents][1]", "pi_2"),
            ]
        );
    }

    #[test]
    fn encoding_escapes_brackets_and_values() {
        let mut p = objects_params(&[ObjectRef::new(ObjectKind::Customers, "cus_a&b")]);
        p.push(behavior_param(&ValidationBehavior::Fix));
        assert_eq!(
            encode(&p),
            "objects%5Bcustomers%5D%5B0%5D=cus_a%26b&validation_behavior=fix"
        );
    }

    #[test]
    fn list_query_params() {
        let q = ListQuery {
            limit: Some(100),
            starting_after: Some("prj_9".into()),
            ending_before: None,
            status: Some(JobStatus::Failed),
            expand_objects: true,
        };
        assert_eq!(
            encode(&q.params()),
            "limit=100&starting_after=prj_9&status=failed&expand%5B0%5D=data.objects"
        );
        assert_eq!(encode(&ListQuery::default().params()), "");
    }
}
