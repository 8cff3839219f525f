//! An account's area and a partner's LAOs, resolved from what the request names: the part of
//! managing accounts that needs the geography, the LAOs and the producers (the auth room, below
//! them, stores what is resolved here).

use crate::auth::policy::Place;
use crate::auth::principal::Role;
use crate::auth::users::{AccountArea, NewUser};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::laos::model::LaoRow;

/// The area of an LAO (staff) or of one of its producers.
fn of_lao(lao: &LaoRow, place: Place) -> AccountArea {
    AccountArea {
        province_code: Some(lao.province_code.clone()),
        // Staff of a provincial administrative organization have no district.
        district_code: (!place.province_wide).then(|| lao.district_code.clone()),
        lao_id: Some(lao.id),
        producer_id: place.producer_id,
        place: Some(place),
    }
}

/// Each role names its area with one field; the others must be absent.
fn area_field(role: Role) -> Option<&'static str> {
    match role {
        Role::ProvinceOfficer => Some("province_code"),
        Role::DistrictOfficer => Some("district_code"),
        Role::LaoStaff => Some("lao_code"),
        Role::Producer => Some("producer_id"),
        Role::Admin | Role::Partner => None,
    }
}

/// The area a new account names: one field for its role (`province_code`, `district_code`,
/// `lao_code` or `producer_id`), checked against the geography, the LAOs and the producers.
/// 422 `validation_failed` names each field that is missing, unknown or not allowed.
pub fn resolve_area(conn: &mut DbConn, new: &NewUser) -> ApiResult<AccountArea> {
    let mut errors = Vec::new();
    let given = [
        ("province_code", new.province_code.is_some()),
        ("district_code", new.district_code.is_some()),
        ("lao_code", new.lao_code.is_some()),
        ("producer_id", new.producer_id.is_some()),
    ];
    let wanted = area_field(new.role);
    for (field, present) in given {
        // A district officer may also name the district's province.
        let tolerated = new.role == Role::DistrictOfficer && field == "province_code";
        if present && Some(field) != wanted && !tolerated {
            errors.push(FieldError::new(field, "not_allowed"));
        }
    }
    let missing_or_unknown = |field: &str, given: bool| {
        FieldError::new(field, if given { "invalid_code" } else { "required" })
    };
    let resolved = match new.role {
        Role::Admin => AccountArea::default(),
        Role::Partner => {
            // Partners are partner clients, not accounts.
            errors.push(FieldError::new("role", "not_allowed"));
            AccountArea::default()
        }
        Role::ProvinceOfficer => {
            let code = new.province_code.as_deref().unwrap_or_default();
            match crate::geo::model::find_province(conn, code)? {
                Some(p) => AccountArea {
                    province_code: Some(p.code.clone()),
                    place: Some(Place {
                        province_code: p.code,
                        district_code: String::new(),
                        lao_id: None,
                        producer_id: None,
                        province_wide: true,
                    }),
                    ..Default::default()
                },
                None => {
                    errors.push(missing_or_unknown(
                        "province_code",
                        new.province_code.is_some(),
                    ));
                    AccountArea::default()
                }
            }
        }
        Role::DistrictOfficer => {
            let code = new.district_code.as_deref().unwrap_or_default();
            match crate::geo::model::find_district(conn, code)? {
                Some(d) => {
                    if new
                        .province_code
                        .as_ref()
                        .is_some_and(|p| *p != d.province_code)
                    {
                        errors.push(FieldError::new("province_code", "invalid_code"));
                    }
                    AccountArea {
                        province_code: Some(d.province_code.clone()),
                        district_code: Some(d.code.clone()),
                        place: Some(Place::district(&d.province_code, &d.code)),
                        ..Default::default()
                    }
                }
                None => {
                    errors.push(missing_or_unknown(
                        "district_code",
                        new.district_code.is_some(),
                    ));
                    AccountArea::default()
                }
            }
        }
        Role::LaoStaff => {
            let code = new.lao_code.as_deref().unwrap_or_default();
            match crate::laos::model::find_by_code(conn, code)? {
                Some(lao) => {
                    let place = lao.place();
                    of_lao(&lao, place)
                }
                None => {
                    errors.push(missing_or_unknown("lao_code", new.lao_code.is_some()));
                    AccountArea::default()
                }
            }
        }
        Role::Producer => {
            let found = match new.producer_id {
                Some(id) => crate::catalog::producers::find_with_lao(conn, id)?,
                None => None,
            };
            match found {
                Some((producer, lao)) => {
                    let place = producer.place(&lao);
                    of_lao(&lao, place)
                }
                None => {
                    let code = if new.producer_id.is_some() {
                        "not_found"
                    } else {
                        "required"
                    };
                    errors.push(FieldError::new("producer_id", code));
                    AccountArea::default()
                }
            }
        }
    };
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// The LAOs a partner client is to sell for, by DLA code; 422 names each unknown
/// `lao_codes[i]`.
pub fn resolve_laos(conn: &mut DbConn, codes: &[String]) -> ApiResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(codes.len());
    let mut errors = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        match crate::laos::model::find_by_code(conn, code)? {
            Some(lao) => {
                if !ids.contains(&lao.id) {
                    ids.push(lao.id);
                }
            }
            None => errors.push(FieldError::new(format!("lao_codes[{i}]"), "invalid_code")),
        }
    }
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(ApiError::validation(errors))
    }
}
