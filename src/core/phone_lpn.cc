/* phone_lpn.cc - the one C++ file: Google's libphonenumber behind a C call.
 *
 * Parse, validity by the country's numbering plan, E.164 form and number
 * type. PhoneNumberUtil is a process-wide singleton whose calls are
 * thread-safe (its regexp cache takes a lock shared by all threads), and a
 * parse costs tens of microseconds (about 250,000 instructions for a UK
 * mobile, most of a send's): only send, and verify's optional phone, call
 * this. No exception leaves this file.
 */
#include "core/phone_lpn.h"

#include <phonenumbers/phonenumberutil.h>

#include <cstring>
#include <list>
#include <set>
#include <string>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

extern "C" int otp_lpn_parse(const char *in, const char *region, char *out,
			     unsigned cap, int *type, int *valid,
			     char where[3])
{
	out[0] = '\0';
	where[0] = '\0';
	*type = PhoneNumberUtil::UNKNOWN;
	*valid = 0;
	try {
		const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
		PhoneNumber n;
		std::string e164;
		PhoneNumberUtil::ErrorType rc =
		    u->Parse(in, region[0] ? region : "ZZ", &n);
		if (rc == PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR &&
		    !region[0] && in[0] != '+')
			return OTP_LPN_NATIONAL;
		if (rc != PhoneNumberUtil::NO_PARSING_ERROR)
			return OTP_LPN_BAD;
		u->Format(n, PhoneNumberUtil::E164, &e164);
		if (e164.size() + 1 > cap)
			return OTP_LPN_BAD;
		std::memcpy(out, e164.c_str(), e164.size() + 1);
		/* Valid is a type other than UNKNOWN: IsValidNumber is that
		 * same test (GetNumberTypeHelper after GetRegionCodeForNumber,
		 * the costly regexp walk), so it is done once, not twice. */
		PhoneNumberUtil::PhoneNumberType t = u->GetNumberType(n);
		*type = static_cast<int>(t);
		*valid = t != PhoneNumberUtil::UNKNOWN ? 1 : 0;
		/* A send's abuse scopes need it: here it costs the plan's
		 * walk, not a second parse (otp_lpn_region). */
		std::string reg;
		if (*valid)
			u->GetRegionCodeForNumber(n, &reg);
		if (reg.size() == 2)
			std::memcpy(where, reg.c_str(), 3);
		return OTP_LPN_OK;
	} catch (...) {
		out[0] = '\0';
		return OTP_LPN_BAD;
	}
}

extern "C" int otp_lpn_region_ok(const char *region)
{
	try {
		std::set<std::string> all;
		PhoneNumberUtil::GetInstance()->GetSupportedRegions(&all);
		return all.count(region) ? 1 : 0;
	} catch (...) {
		return 0;
	}
}

extern "C" int otp_lpn_region(const char *e164, char out[3])
{
	out[0] = '\0';
	try {
		const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
		std::string region;
		int cc = 0;
		for (const char *p = e164 + 1; *p >= '0' && *p <= '9' &&
						 p - e164 <= 3;
		     p++) {
			cc = cc * 10 + (*p - '0');
			std::list<std::string> regions;
			u->GetRegionCodesForCountryCallingCode(cc, &regions);
			if (regions.empty())
				continue;
			if (regions.size() == 1) {
				region = regions.front();
				break;
			}
			/* a shared calling code (+1, +7, +44, ...): the
			 * numbering plan walk names the one region */
			PhoneNumber n;
			if (u->Parse(e164, "ZZ", &n) !=
			    PhoneNumberUtil::NO_PARSING_ERROR)
				return -1;
			u->GetRegionCodeForNumber(n, &region);
			break;
		}
		if (region.size() != 2)
			return -1;
		std::memcpy(out, region.c_str(), 3);
		return 0;
	} catch (...) {
		out[0] = '\0';
		return -1;
	}
}
