import type { Metadata } from 'next';
import { ClusterView } from '../../../components/cluster-view.tsx';

type TProps = { params: Promise<{ scope: string }> };

export async function generateMetadata({ params }: TProps): Promise<Metadata> {
  const { scope } = await params;
  return { title: decodeURIComponent(scope) };
}

export default async function ClusterPage({ params }: TProps) {
  const { scope } = await params;
  return <ClusterView scope={decodeURIComponent(scope)} />;
}
