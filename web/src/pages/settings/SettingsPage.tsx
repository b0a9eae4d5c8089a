import { Can } from '../../components/Can';
import { PageHeader } from '../../components/PageHeader';
import { EmailPreferencesSection } from './EmailPreferencesSection';
import { InstallSection } from './InstallSection';
import { PrivacySection } from './PrivacySection';
import { ShopsSection } from './ShopsSection';
import { TokensSection } from './TokensSection';
import { UsersSection } from './UsersSection';

export function SettingsPage() {
  return (
    <section className="page">
      <PageHeader title="Settings" />
      <Can permission="shops:manage">
        <InstallSection />
        <EmailPreferencesSection />
      </Can>
      <UsersSection />
      <Can permission="tokens:manage">
        <TokensSection />
      </Can>
      <Can permission="shops:manage">
        <ShopsSection />
        <PrivacySection />
      </Can>
    </section>
  );
}
