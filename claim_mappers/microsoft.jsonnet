// Maps the claims of Microsoft Entra ID (Azure AD) onto the traits of the
// social_user_v0 identity schema. Unlike the default mapper it takes the
// e-mail address without an `email_verified` claim, because Entra ID does not
// send one: the address comes from the tenant's own directory. A phone number
// is still taken only when it is marked as verified.
local claims = { phone_number_verified: false } + std.extVar('claims');

local has(key) = std.objectHas(claims, key) && claims[key] != null;

// Claims copied as they are.
local copied = [
  'email',
  'name',
  'given_name',
  'family_name',
  'last_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'team',
];

{
  identity: {
    traits: { [key]: claims[key] for key in copied if has(key) }
            + (if has('phone_number') && claims.phone_number_verified then { phone_number: claims.phone_number } else {}),
  },
}
