// Maps the claims of an OpenID Connect provider onto the traits of the
// social_user_v0 identity schema. Kratos passes the claims as the external
// variable `claims`. An e-mail address or phone number is taken only when the
// provider says it has verified it, so that nobody can claim someone else's
// address through a provider that does not check addresses.
local claims = { email_verified: false, phone_number_verified: false } + std.extVar('claims');

local has(key) = std.objectHas(claims, key) && claims[key] != null;

// Claims copied as they are.
local copied = [
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
            + (if has('email') && claims.email_verified then { email: claims.email } else {})
            + (if has('phone_number') && claims.phone_number_verified then { phone_number: claims.phone_number } else {}),
  },
}
