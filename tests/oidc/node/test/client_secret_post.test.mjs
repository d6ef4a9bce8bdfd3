// openid-client as a confidential relying party sending its credentials in the body (RFC 6749 2.3.1).
import { relyingPartyScenario } from '../lib/scenario.mjs';

relyingPartyScenario('post');
