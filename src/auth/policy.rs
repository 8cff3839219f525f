//! Authorization, in one place: may this principal do this action on this object?
//!
//! Objects are placed in the administrative tree (province → district → LAO → producer). Officers
//! read everything in their area; LAO staff manage only their LAO; producers only their own
//! record; admins everything. Handlers ask [`authorize`] with the object's [`Place`] and get 403
//! (or 404 where the caller may not even know the object exists).

use super::principal::{Area, Principal, Role};
use crate::error::ApiError;
use crate::i18n::Text;

/// Where an object sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub province_code: String,
    pub district_code: String,
    pub lao_id: Option<i64>,
    pub producer_id: Option<i64>,
    /// A provincial administrative organization (อบจ.) and what belongs to it cover the whole
    /// province: province officers oversee them, district officers do not.
    pub province_wide: bool,
}

impl Place {
    /// A district-level place (calendars, district officers).
    pub fn district(province_code: &str, district_code: &str) -> Place {
        Place {
            province_code: province_code.to_string(),
            district_code: district_code.to_string(),
            lao_id: None,
            producer_id: None,
            province_wide: false,
        }
    }

    /// The whole country: national matters with no area of their own (personal data of
    /// buyers, the crop list).
    pub fn nation() -> Place {
        Place::district("", "")
    }

    /// The same place, narrowed to a producer of its LAO.
    pub fn with_producer(mut self, producer_id: i64) -> Place {
        self.producer_id = Some(producer_id);
        self
    }
}

/// Something a caller may want to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create an LAO or change its registry fields (code, type, names, area).
    ManageLaoRegistry,
    /// Change an LAO's own profile (English name, contacts, website, allowed origins).
    UpdateLaoProfile,
    /// See the accounts at a place.
    ReadUsers,
    /// Create or change an account of the given role at a place.
    ManageUser(Role),
    /// Manage partner clients.
    ManagePartners,
    /// Read non-public records of a place (producers' contacts, orders, reports).
    ReadArea,
    /// Maintain the crop list.
    ManageCrops,
    /// Create or change producers of an LAO.
    ManageProducers,
    /// Change a producer's own record, products and windows.
    ManageProducerOffer,
    /// Maintain a district's harvest calendar.
    ManageCalendar,
    /// Act on orders of a place (confirm payment, dispatch, cancel as staff).
    ManageOrders,
    /// Export or erase a buyer's personal data and read the audit log of both (PDPA).
    ManagePersonalData,
}

/// Whether a place lies inside an area seen at a role's level: the one rule of areas, for
/// accounts ([`Principal::covers`]) and for read-only report tokens alike.
pub fn reaches(role: Role, area: &Area, place: &Place) -> bool {
    match role {
        Role::Admin => true,
        Role::ProvinceOfficer => {
            area.province_code.as_deref() == Some(place.province_code.as_str())
        }
        Role::DistrictOfficer => {
            !place.province_wide
                && area.district_code.as_deref() == Some(place.district_code.as_str())
        }
        Role::LaoStaff => place.lao_id.is_some() && area.lao_id == place.lao_id,
        Role::Producer => place.producer_id.is_some() && area.producer_id == place.producer_id,
        Role::Partner => false,
    }
}

impl Principal {
    /// Whether a place lies inside the caller's area.
    pub fn covers(&self, place: &Place) -> bool {
        reaches(self.role, &self.area, place)
    }

    /// Whether the caller may do `action` at `place`.
    pub fn may(&self, action: Action, place: &Place) -> bool {
        use Action::*;
        match action {
            ManageLaoRegistry | ManagePartners | ManageCrops | ManagePersonalData => {
                self.is_admin()
            }
            UpdateLaoProfile => {
                matches!(self.role, Role::Admin | Role::LaoStaff) && self.covers(place)
            }
            ReadUsers | ReadArea => self.role != Role::Partner && self.covers(place),
            ManageUser(target) => self.may_manage_user(target, place),
            ManageProducers => {
                matches!(self.role, Role::Admin | Role::LaoStaff) && self.covers(place)
            }
            ManageProducerOffer => {
                matches!(self.role, Role::Admin | Role::LaoStaff | Role::Producer)
                    && self.covers(place)
            }
            ManageCalendar => match self.role {
                Role::Admin | Role::DistrictOfficer => self.covers(place),
                // LAO staff maintain the calendar of their LAO's district.
                Role::LaoStaff => {
                    self.area.district_code.as_deref() == Some(place.district_code.as_str())
                }
                _ => false,
            },
            ManageOrders => {
                matches!(self.role, Role::Admin | Role::LaoStaff | Role::Producer)
                    && self.covers(place)
            }
        }
    }

    fn may_manage_user(&self, target: Role, place: &Place) -> bool {
        match target {
            // Officers, admins and partners are national matters.
            Role::Admin | Role::ProvinceOfficer | Role::DistrictOfficer | Role::Partner => {
                self.is_admin()
            }
            Role::LaoStaff => match self.role {
                Role::Admin | Role::ProvinceOfficer | Role::DistrictOfficer | Role::LaoStaff => {
                    self.covers(place)
                }
                _ => false,
            },
            Role::Producer => {
                matches!(self.role, Role::Admin | Role::LaoStaff) && self.covers(place)
            }
        }
    }
}

/// Allows the action or answers 403.
pub fn authorize(principal: &Principal, action: Action, place: &Place) -> Result<(), ApiError> {
    if principal.may(action, place) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// For objects that are not public: 404 when the caller may not even read the place (so that
/// another LAO's records are not revealed), 403 when they may read but not do the action.
pub fn authorize_hidden(
    principal: &Principal,
    action: Action,
    place: &Place,
    resource: Text,
) -> Result<(), ApiError> {
    if principal.may(action, place) {
        Ok(())
    } else if principal.may(Action::ReadArea, place) {
        Err(ApiError::forbidden())
    } else {
        Err(ApiError::not_found(resource))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::{Area, Subject};

    fn principal(role: Role, area: Area) -> Principal {
        Principal {
            subject: Subject::User(1),
            role,
            area,
            scopes: vec![],
            session_id: "s".into(),
            name: "t".into(),
        }
    }

    fn lao_place(lao_id: i64, district: &str, province_wide: bool) -> Place {
        Place {
            province_code: district[..2].to_string(),
            district_code: district.to_string(),
            lao_id: Some(lao_id),
            producer_id: None,
            province_wide,
        }
    }

    #[test]
    fn officers_cover_their_area_only() {
        let prov = principal(
            Role::ProvinceOfficer,
            Area {
                province_code: Some("63".into()),
                ..Default::default()
            },
        );
        let dist = principal(
            Role::DistrictOfficer,
            Area {
                province_code: Some("63".into()),
                district_code: Some("6306".into()),
                ..Default::default()
            },
        );
        let mae_sot = lao_place(1, "6306", false);
        let tak_pao = lao_place(2, "6301", true);
        let chanthaburi = lao_place(3, "2201", false);
        assert!(prov.covers(&mae_sot) && prov.covers(&tak_pao) && !prov.covers(&chanthaburi));
        assert!(dist.covers(&mae_sot) && !dist.covers(&tak_pao) && !dist.covers(&chanthaburi));
    }

    #[test]
    fn lao_staff_manage_only_their_lao() {
        let staff = principal(
            Role::LaoStaff,
            Area {
                province_code: Some("63".into()),
                district_code: Some("6306".into()),
                lao_id: Some(1),
                producer_id: None,
            },
        );
        assert!(staff.may(Action::UpdateLaoProfile, &lao_place(1, "6306", false)));
        assert!(!staff.may(Action::UpdateLaoProfile, &lao_place(5, "6306", false)));
        assert!(staff.may(
            Action::ManageUser(Role::LaoStaff),
            &lao_place(1, "6306", false)
        ));
        assert!(!staff.may(
            Action::ManageUser(Role::DistrictOfficer),
            &lao_place(1, "6306", false)
        ));
        assert!(staff.may(Action::ManageCalendar, &Place::district("63", "6306")));
        assert!(!staff.may(Action::ManageCalendar, &Place::district("63", "6301")));
    }

    #[test]
    fn partners_have_no_area() {
        let partner = principal(Role::Partner, Area::default());
        assert!(!partner.may(Action::ReadArea, &lao_place(1, "6306", false)));
        assert!(!partner.may(
            Action::ManageUser(Role::LaoStaff),
            &lao_place(1, "6306", false)
        ));
    }
}
